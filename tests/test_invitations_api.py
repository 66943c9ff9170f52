"""The staff API (POST/GET /api/invitations and the transitions) over HTTP against the real local stack.

Every test checks the HTTP answer and what ended up in Azurite (the `Invitations` and
`IdempotencyKeys` tables) and in the .eml outbox. The stack is shared by the whole session, so
tests isolate themselves with their own invitee addresses and, where they count rows or
messages, compare before/after totals within the test.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from tests.storage import Stored
from tests.support import STAFF_ADMIN, Api, Outbox, eventually, invitation_body, unique_email, user_token
from tools.localstack.stack import LocalStack

PROBLEM_BASE = "https://rconnect.example/problems/"
PROBLEM_TYPE = "application/problem+json"
STAFF = STAFF_ADMIN  # the local IdP's staff member; their token names them (tests/test_staff_identity.py)


@pytest.fixture(scope="module")
def staff_auth(stack: LocalStack) -> dict[str, str]:
    return {"Authorization": f"Bearer {user_token(stack)}"}


FRENCH_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"]


# -- helpers ----------------------------------------------------------------------------------------


def invitee(email: str, display_name: str = "Anna Keller") -> dict[str, str]:
    return {"email": email, "displayName": display_name}


def when(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, f"{value} has no time zone"
    return moment


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None, "the e-mail needs a text and an HTML part"
    return text.get_content(), html.get_content()


def problem(response: requests.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an RFC 9457 problem answer and return its body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].split(";")[0] == PROBLEM_TYPE
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_BASE) and len(body["type"]) > len(PROBLEM_BASE)
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["type"] == PROBLEM_BASE + code, body
    return body


def pointers(body: dict[str, Any]) -> list[str]:
    assert body["errors"], body
    for error in body["errors"]:
        assert error["pointer"].startswith("/") and error["detail"], error
    return [error["pointer"] for error in body["errors"]]


def history_actions(view: dict[str, Any]) -> list[str]:
    return [event["action"] for event in view["history"]]


def snapshot(stored: Stored, outbox: Outbox) -> Callable[[], None]:
    """Returns a check that nothing was stored or e-mailed since the snapshot. Taken once no e-mail
    is waiting in the queue, so an earlier test's e-mail cannot land in between."""
    eventually(lambda: stored.queued_emails() == 0, "the e-mail queue to drain")
    count, mails = stored.invitation_count(), len(outbox.files())

    def check() -> None:
        assert stored.invitation_count() == count, "a rejected request stored an invitation"
        assert len(outbox.files()) == mails, "a rejected request sent an e-mail"

    return check


@pytest.fixture
def unchanged(stored: Stored, outbox: Outbox) -> Callable[[], None]:
    """Call at the end of a test: nothing new was stored or e-mailed since the test began."""
    return snapshot(stored, outbox)


# -- create -----------------------------------------------------------------------------------------


def test_create_answers_201_stores_the_invitation_audits_and_emails_it(api: Api, stack: LocalStack, stored: Stored, outbox: Outbox) -> None:
    address = unique_email()
    body = invitation_body(invitee=invitee(address), ttlDays=10, message="Looking forward\nto working with you")
    before = datetime.now(UTC)
    response = api.post("/invitations", json=body)
    after = datetime.now(UTC)

    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert "Idempotent-Replayed" not in response.headers
    created = response.json()
    invitation_id = created["id"]
    assert uuid.UUID(invitation_id).version == 4 and str(uuid.UUID(invitation_id)) == invitation_id
    assert response.headers["Location"] == f"/api/invitations/{invitation_id}"
    assert created["status"] == "pending"
    assert created["inviteRedeemUrl"] == f"{stack.base_url}/api/InviteUser?invitationId={invitation_id}"
    assert created["invitee"] == {"email": address, "displayName": "Anna Keller"}
    assert created["inviter"] == {**body["inviter"], "email": None}  # optional, shown as null when absent
    assert created["company"]["vatNumber"] == "CHE-123.456.789" and created["company"]["country"] == "CH"
    assert (created["role"], created["language"], created["ttlDays"]) == ("admin", "en", 10)
    assert created["message"] == "Looking forward\nto working with you"
    assert created["redirectUrl"] is None and created["acceptedBy"] is None and created["revokedAt"] is None
    created_at, expires_at = when(created["createdAt"]), when(created["expiresAt"])
    assert before - timedelta(seconds=1) <= created_at <= after + timedelta(seconds=1)
    assert expires_at - created_at == timedelta(days=10)
    # The e-mail is an intent recorded with the invitation; the queue worker sends it after the 201.
    email = created["email"]
    assert email["status"] == "queued" and email["attempt"] == 1 and email["error"] is None
    assert uuid.UUID(email["sendId"]) and email["operationId"] is None
    assert created_at <= when(email["queuedAt"]) <= after + timedelta(seconds=1)
    assert history_actions(created) == ["created"] and created["history"][0]["sendId"] == email["sendId"]
    assert created["history"][0]["actor"] == "staff-api-key"

    sent = api.email_settled(invitation_id)
    assert sent["email"]["status"] == "sent" and sent["email"]["sendId"] == email["sendId"]
    assert sent["email"]["operationId"] and when(sent["email"]["updatedAt"]) >= when(email["queuedAt"])
    assert history_actions(sent) == ["created", "email-sent"]

    entity = stored.invitation(invitation_id)
    assert entity["Status"] == "pending"
    assert entity["EmailLower"] == address.lower()
    assert entity["ExpiresAt"] == expires_at and entity["CreatedAt"] == created_at
    data = entity["data"]
    assert data["id"] == invitation_id and data["status"] == "pending"
    assert data["invite_redeem_url"] == created["inviteRedeemUrl"]
    assert data["email"]["status"] == "sent" and data["email"]["send_id"] == email["sendId"]
    trail = stored.audit(invitation_id)
    assert [event["action"] for event in trail] == ["created", "email-sent"]
    assert trail[0]["to_status"] == "pending" and trail[0]["from_status"] is None
    assert trail[1]["from_status"] == "pending" and trail[1]["to_status"] == "pending"
    assert stored.rows_for_email(address) and len(stored.rows_for_email(address)) == 1

    [message] = outbox.messages_to(address)
    assert message["Subject"] == "Mohamed-Nour, Tamer from GFMS invited you to My rConnect"
    assert message["To"].addresses[0].addr_spec == address
    assert email["sendId"] in message["Message-ID"]
    text, html = bodies(message)
    link = created["inviteRedeemUrl"]
    assert link in text and f'href="{link}"' in html
    assert "Hi, Anna Keller!" in text and "Hi, Anna Keller!" in html
    assert "> Looking forward" in text and "to working with you" in html


@pytest.mark.parametrize("ttl", [None, 1, 30])
def test_expiry_is_creation_plus_ttl_days(api: Api, stored: Stored, ttl: int | None) -> None:
    created = api.invite(**({} if ttl is None else {"ttlDays": ttl}))
    days = 7 if ttl is None else ttl
    assert created["ttlDays"] == days
    assert when(created["expiresAt"]) - when(created["createdAt"]) == timedelta(days=days)
    assert stored.invitation(created["id"])["ExpiresAt"] == when(created["expiresAt"])


def test_a_french_invitation_is_written_in_french(api: Api, outbox: Outbox) -> None:
    address = unique_email("amelie")
    created = api.invite(invitee=invitee(address, "Amélie Dubois"), language="fr")
    assert created["language"] == "fr"

    [message] = outbox.messages_to(address)
    assert message["Subject"] == "Mohamed-Nour, Tamer de GFMS vous invite sur My rConnect"
    text, html = bodies(message)
    expires = when(created["expiresAt"]).astimezone(UTC)
    french_date = f"{expires.day} {FRENCH_MONTHS[expires.month - 1]} {expires.year}"
    for part in (text, html):
        # French typography puts a no-break space before "!"; HTML may escape the apostrophe.
        part = part.replace("\xa0", " ").replace("&#39;", "'").replace("&#x27;", "'")
        assert "Bonjour Amélie Dubois !" in part
        assert "Commencer maintenant" in part
        assert f"valable jusqu’au {french_date}" in part
        assert created["inviteRedeemUrl"] in part
        assert "Hi, " not in part and "Get started now" not in part


def test_a_redirect_url_under_the_allow_list_is_accepted_and_stored(api: Api, stored: Stored) -> None:
    target = "https://portal.rconnect.example/welcome?tab=machines"
    created = api.invite(redirectUrl=target)
    assert created["redirectUrl"] == target
    assert stored.invitation(created["id"])["data"]["redirect_url"] == target


def test_the_staff_members_token_is_recorded_as_the_actor_of_creation(stack: LocalStack, api: Api, stored: Stored) -> None:
    response = api.post("/invitations", json=invitation_body(), headers={"Authorization": f"Bearer {user_token(stack)}"})
    assert response.status_code == 201, response.text
    assert stored.audit(response.json()["id"])[0]["actor"] == STAFF_ADMIN
    api.email_settled(response.json()["id"])  # so its e-mail cannot land in a later test's snapshot


# -- authentication ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_the_api_refuses_requests_without_the_function_key(
    stack: LocalStack, api: Api, stored: Stored, outbox: Outbox, key: str | None
) -> None:
    existing = api.invite()
    unchanged = snapshot(stored, outbox)
    headers = {"x-functions-key": key} if key else {}
    base = f"{stack.base_url}/api/invitations"
    calls = [
        requests.post(base, json=invitation_body(), headers=headers, timeout=10),
        requests.post(base, json=invitation_body(), params={"code": key} if key else {}, timeout=10),
        requests.get(base, headers=headers, timeout=10),
        requests.get(f"{base}/{existing['id']}", headers=headers, timeout=10),
        requests.post(f"{base}/{existing['id']}/revoke", headers=headers, timeout=10),
        requests.post(f"{base}/{existing['id']}/resend", headers=headers, timeout=10),
    ]
    assert [call.status_code for call in calls] == [401] * len(calls)
    assert all(call.text == "" for call in calls)
    unchanged()
    assert stored.actions(existing["id"]) == ["created", "email-sent"]
    assert api.get(f"/invitations/{existing['id']}").json()["status"] == "pending"


def test_the_function_key_also_works_as_the_code_query_parameter(stack: LocalStack, api: Api, stored: Stored) -> None:
    key = {"code": stack.config.functions_key}
    base = f"{stack.base_url}/api/invitations"
    address = unique_email()
    created = requests.post(base, params=key, json=invitation_body(invitee=invitee(address)), timeout=10)
    assert created.status_code == 201, created.text
    invitation_id = created.json()["id"]
    assert stored.invitation(invitation_id)["EmailLower"] == address

    one = requests.get(f"{base}/{invitation_id}", params=key, timeout=10)
    assert one.status_code == 200 and one.json()["id"] == invitation_id
    # The key travels in the query string next to the list's own filters, which must not trip over it.
    listed = requests.get(base, params={**key, "email": address}, timeout=10)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["value"]] == [invitation_id]
    api.email_settled(invitation_id)


# -- validation -------------------------------------------------------------------------------------


# Every field's valid and invalid values, and every malformed body: tests/unit/test_request_validation.py.
# Here one of each over HTTP: the problem answer, with nothing stored, claimed or e-mailed.


def test_an_invalid_body_is_a_422_problem_with_pointers_and_nothing_happens(
    api: Api, stored: Stored, outbox: Outbox, unchanged: Callable[[], None]
) -> None:
    address, key = unique_email(), f"key-{uuid.uuid4()}"
    body = invitation_body(invitee=invitee(address.replace("@", " at ")))
    response = api.post("/invitations", json=body, headers={"Idempotency-Key": key})
    body = problem(response, 422, "validation-error")
    assert pointers(body) == ["/invitee/email"]
    assert "/invitee/email" in body["detail"]
    assert stored.rows_for_email(address) == [] and outbox.messages_to(address) == []
    assert stored.idempotency_row(key) is None, "a rejected request must not claim its Idempotency-Key"
    unchanged()


def test_a_redirect_url_outside_the_allow_list_is_refused(api: Api, stored: Stored, unchanged: Callable[[], None]) -> None:
    address, key, target = unique_email(), f"key-{uuid.uuid4()}", "https://portal.rconnect.example@evil.example/"
    response = api.post(
        "/invitations", json=invitation_body(invitee=invitee(address), redirectUrl=target), headers={"Idempotency-Key": key}
    )
    body = problem(response, 400, "redirect-not-allowed")
    assert "redirectUrl" in body["detail"]
    assert stored.rows_for_email(address) == []
    assert stored.idempotency_row(key) is None
    unchanged()


def test_an_unreadable_body_is_a_problem_and_nothing_happens(api: Api, unchanged: Callable[[], None]) -> None:
    raw = json.dumps(invitation_body(message="x" * (64 * 1024))).encode()
    problem(api.post("/invitations", data=raw, headers={"Content-Type": "application/json"}), 413, "body-too-large")
    unchanged()


def test_a_body_of_exactly_64_kib_is_read(api: Api) -> None:
    body = invitation_body()
    padding = 64 * 1024 - len(json.dumps(body).encode())
    raw = json.dumps(body).encode()[:-1] + b" " * padding + b"}"
    assert len(raw) == 64 * 1024
    response = api.post("/invitations", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    api.email_settled(response.json()["id"])


# -- Idempotency-Key --------------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_replay_the_first_invitation(api: Api, outbox: Outbox, stored: Stored) -> None:
    address, key = unique_email(), f"order-{uuid.uuid4()}"
    body = invitation_body(invitee=invitee(address))
    first = api.post("/invitations", json=body, headers={"Idempotency-Key": key})
    second = api.post("/invitations", json=body, headers={"Idempotency-Key": key})

    assert first.status_code == 201 and second.status_code == 201, (first.text, second.text)
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert second.json()["createdAt"] == first.json()["createdAt"]
    assert second.json()["email"]["sendId"] == first.json()["email"]["sendId"]
    assert [row["PartitionKey"] for row in stored.rows_for_email(address)] == [first.json()["id"]]
    api.email_settled(first.json()["id"])
    assert len(outbox.messages_to(address)) == 1
    assert stored.actions(first.json()["id"]) == ["created", "email-sent"]
    claim = stored.idempotency_row(key)
    assert claim is not None and claim["InvitationId"] == first.json()["id"]


def test_the_same_idempotency_key_with_another_body_is_refused(api: Api, outbox: Outbox, stored: Stored) -> None:
    key = f"order-{uuid.uuid4()}"
    first = api.post("/invitations", json=invitation_body(), headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    other = unique_email()
    response = api.post("/invitations", json=invitation_body(invitee=invitee(other)), headers={"Idempotency-Key": key})
    problem(response, 422, "IdempotencyMismatch")
    assert stored.rows_for_email(other) == [] and outbox.messages_to(other) == []
    assert stored.idempotency_row(key)["InvitationId"] == first.json()["id"]  # type: ignore[index]


def test_different_idempotency_keys_create_different_invitations(api: Api, stored: Stored) -> None:
    address = unique_email()
    body = invitation_body(invitee=invitee(address), allowDuplicate=True)
    ids = {api.post("/invitations", json=body, headers={"Idempotency-Key": f"k-{uuid.uuid4()}"}).json()["id"] for _ in range(2)}
    assert len(ids) == 2
    assert {row["PartitionKey"] for row in stored.rows_for_email(address)} == ids
    for invitation_id in ids:
        api.email_settled(invitation_id)


# -- read one ---------------------------------------------------------------------------------------


def test_get_returns_the_invitation_with_its_history(api: Api) -> None:
    created = api.invite()
    response = api.get(f"/invitations/{created['id']}")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    view = response.json()
    assert {k: v for k, v in view.items() if k != "history"} == {k: v for k, v in created.items() if k != "history"}
    assert history_actions(view) == ["created", "email-sent"]
    assert view["history"][0]["toStatus"] == "pending" and view["history"][0]["actor"] == "staff-api-key"
    assert when(view["history"][0]["at"]) == when(created["createdAt"])
    # The id is a UUID in any spelling; the answer uses the canonical one.
    assert api.get(f"/invitations/{created['id'].upper()}").json()["id"] == created["id"]


def test_get_of_an_unknown_id_is_404(api: Api) -> None:
    missing = str(uuid.uuid4())
    body = problem(api.get(f"/invitations/{missing}"), 404, "NotFound")
    assert missing in body["detail"]


def test_a_malformed_id_is_400(api: Api) -> None:
    bad_id = "3f2504e0-4f89-11d3-9a0c-0305e82c33"
    problem(api.get(f"/invitations/{bad_id}"), 400, "invalid-id")
    for action in ("revoke", "resend", "reset"):
        problem(api.post(f"/invitations/{bad_id}/{action}"), 400, "invalid-id")


@pytest.mark.parametrize("action", ["revoke", "resend", "reset"])
def test_a_transition_of_an_unknown_id_is_404(api: Api, action: str) -> None:
    problem(api.post(f"/invitations/{uuid.uuid4()}/{action}"), 404, "NotFound")


# -- list -------------------------------------------------------------------------------------------


def list_all(api: Api, page_size: int, **filters: str) -> list[list[dict[str, Any]]]:
    """Every page of a filtered list, following continuationToken until it is gone."""
    pages, token = [], None
    for _ in range(50):
        params: dict[str, Any] = {**filters, "pageSize": page_size}
        if token:
            params["continuationToken"] = token
        response = api.get("/invitations", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["value"]) <= page_size
        pages.append(page["value"])
        token = page["continuationToken"]
        if not token:
            return pages
    raise AssertionError("the list never ran out of pages")


def test_list_filters_by_email_case_insensitively_and_pages_to_the_end(api: Api, stored: Stored) -> None:
    address = unique_email("paging")
    spellings = [address, address.upper(), address.capitalize(), address, address.title()]
    ids = {api.invite(invitee=invitee(spelling), allowDuplicate=True)["id"] for spelling in spellings}
    assert len(ids) == 5 and len(stored.rows_for_email(address)) == 5

    whole = api.get("/invitations", params={"email": address.upper()})
    assert whole.status_code == 200
    assert {item["id"] for item in whole.json()["value"]} == ids

    pages = list_all(api, 2, email=address.swapcase())
    found = [item["id"] for page in pages for item in page]
    assert sorted(found) == sorted(ids), "every invitation exactly once"
    assert len([page for page in pages if page]) >= 3
    assert found == sorted(found), "the list is in id order"
    for item in (item for page in pages for item in page):
        assert item["invitee"]["email"].lower() == address and item["status"] == "pending"
        assert item["history"] == []  # the list leaves the audit trail out


def test_list_filters_by_status(api: Api) -> None:
    address = unique_email("status")
    first, second, third = (api.invite(invitee=invitee(address), allowDuplicate=True)["id"] for _ in range(3))
    assert api.post(f"/invitations/{second}/revoke").status_code == 200

    def listed(status: str) -> set[str]:
        return {item["id"] for page in list_all(api, 50, email=address, status=status) for item in page}

    assert listed("pending") == {first, third}
    assert listed("revoked") == {second}
    assert listed("accepted") == set() and listed("expired") == set() and listed("completed") == set()
    revoked = [item for page in list_all(api, 50, email=address, status="revoked") for item in page]
    assert revoked[0]["status"] == "revoked" and revoked[0]["revokedAt"]


def test_a_garbage_continuation_token_is_a_400_problem(api: Api) -> None:
    body = problem(api.get("/invitations", params={"continuationToken": "WzEsMl0="}), 400)  # [1,2]: JSON, not a token of ours
    assert "continuationToken" in body["detail"]


def test_an_invalid_list_query_is_a_422_problem(api: Api) -> None:
    body = problem(api.get("/invitations", params={"status": "archived", "sort": "createdAt"}), 422, "validation-error")
    assert sorted(pointers(body)) == ["/sort", "/status"]


# -- transitions ------------------------------------------------------------------------------------


def test_revoke_records_the_actor_and_a_second_revoke_conflicts(
    api: Api, stored: Stored, outbox: Outbox, staff_auth: dict[str, str]
) -> None:
    address = unique_email()
    created = api.invite(invitee=invitee(address))
    before = datetime.now(UTC)
    response = api.post(f"/invitations/{created['id']}/revoke", headers=staff_auth)
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["status"] == "revoked"
    assert before - timedelta(seconds=1) <= when(revoked["revokedAt"]) <= datetime.now(UTC) + timedelta(seconds=1)
    assert history_actions(revoked) == ["created", "email-sent", "revoked"]

    entity = stored.invitation(created["id"])
    assert entity["Status"] == "revoked" and entity["data"]["status"] == "revoked"
    assert entity["data"]["revoked_at"] == revoked["revokedAt"]
    event = stored.audit(created["id"])[-1]
    assert (event["action"], event["actor"], event["from_status"], event["to_status"]) == ("revoked", STAFF, "pending", "revoked")

    again = api.post(f"/invitations/{created['id']}/revoke")
    assert "revoked" in problem(again, 409, "invitation-revoked")["detail"]
    resend = api.post(f"/invitations/{created['id']}/resend")
    problem(resend, 409, "invitation-revoked")
    problem(api.post(f"/invitations/{created['id']}/reset"), 409, "invitation-revoked")
    assert stored.actions(created["id"]) == ["created", "email-sent", "revoked"]
    assert len(outbox.messages_to(address)) == 1, "a refused resend sent nothing"
    assert api.get(f"/invitations/{created['id']}").json()["status"] == "revoked"


def test_revoke_without_a_principal_is_recorded_as_the_api_key(api: Api, stored: Stored) -> None:
    created = api.invite()
    assert api.post(f"/invitations/{created['id']}/revoke").status_code == 200
    assert stored.audit(created["id"])[-1]["actor"] == "staff-api-key"


def test_resend_sends_a_new_email_and_counts_the_attempt(api: Api, stored: Stored, outbox: Outbox, staff_auth: dict[str, str]) -> None:
    address = unique_email()
    created = api.invite(invitee=invitee(address))
    response = api.post(f"/invitations/{created['id']}/resend", headers=staff_auth)
    assert response.status_code == 200, response.text
    resent = response.json()
    assert resent["status"] == "pending"
    assert resent["email"]["status"] == "queued" and resent["email"]["attempt"] == 2
    assert resent["email"]["sendId"] != created["email"]["sendId"]
    assert when(resent["email"]["queuedAt"]) > when(created["email"]["queuedAt"])
    assert resent["expiresAt"] == created["expiresAt"], "a pending invitation keeps its expiry"
    assert history_actions(resent) == ["created", "email-sent", "email-resent"]

    messages = outbox.wait_for(address, 2)
    assert len(messages) == 2
    assert resent["email"]["sendId"] in messages[-1]["Message-ID"]
    assert created["inviteRedeemUrl"] in bodies(messages[-1])[0]
    settled = api.email_settled(created["id"])
    data = stored.invitation(created["id"])["data"]
    assert data["email"]["attempt"] == 2 and data["email"]["send_id"] == resent["email"]["sendId"]
    assert settled["email"]["status"] == "sent"
    event = stored.audit(created["id"])[-2]
    assert (event["action"], event["actor"], event["from_status"], event["to_status"]) == ("email-resent", STAFF, "pending", "pending")


def test_reset_of_a_pending_invitation_conflicts(api: Api, stored: Stored) -> None:
    created = api.invite()
    problem(api.post(f"/invitations/{created['id']}/reset"), 409, "invitation-pending")
    assert stored.invitation(created["id"])["Status"] == "pending"
    assert stored.actions(created["id"]) == ["created", "email-sent"]


def test_expiry_is_derived_from_time_and_resend_renews_it(api: Api, stored: Stored, outbox: Outbox) -> None:
    address = unique_email("expired")
    created = api.invite(invitee=invitee(address), ttlDays=3)
    past = datetime.now(UTC) - timedelta(hours=1)
    stored.rewrite(created["id"], expires_at=past)

    view = api.get(f"/invitations/{created['id']}").json()
    assert view["status"] == "expired" and when(view["expiresAt"]) == past
    assert stored.invitation(created["id"])["Status"] == "pending", "expired is derived, never stored"
    assert [item["id"] for page in list_all(api, 50, email=address, status="expired") for item in page] == [created["id"]]
    assert [item for page in list_all(api, 50, email=address, status="pending") for item in page] == []
    problem(api.post(f"/invitations/{created['id']}/reset"), 409, "invitation-expired")

    before = datetime.now(UTC)
    response = api.post(f"/invitations/{created['id']}/resend")
    assert response.status_code == 200, response.text
    renewed = response.json()
    assert renewed["status"] == "pending"
    new_expiry = when(renewed["expiresAt"])
    assert before + timedelta(days=3) - timedelta(seconds=1) <= new_expiry <= datetime.now(UTC) + timedelta(days=3)
    assert renewed["email"]["status"] == "queued" and renewed["email"]["attempt"] == 2
    event = renewed["history"][-1]
    assert (event["action"], event["fromStatus"], event["toStatus"]) == ("email-resent", "expired", "pending")

    entity = stored.invitation(created["id"])
    assert entity["Status"] == "pending" and entity["ExpiresAt"] == new_expiry
    assert when(entity["data"]["expires_at"]) == new_expiry
    messages = outbox.wait_for(address, 2)
    assert len(messages) == 2
    assert f"valid until {new_expiry:%B} {new_expiry.day}, {new_expiry.year}" in bodies(messages[-1])[0]
    assert api.get(f"/invitations/{created['id']}").json()["status"] == "pending"
    assert [item["id"] for page in list_all(api, 50, email=address, status="pending") for item in page] == [created["id"]]


def test_an_expired_invitation_can_be_revoked(api: Api, stored: Stored) -> None:
    created = api.invite()
    stored.rewrite(created["id"], expires_at=datetime.now(UTC) - timedelta(minutes=5))
    response = api.post(f"/invitations/{created['id']}/revoke")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked"
    assert stored.audit(created["id"])[-1]["from_status"] == "expired"
    assert stored.invitation(created["id"])["Status"] == "revoked"


ACCEPTED_BY = {
    "objectId": "b2c-object-id-0001",
    "email": "anna@contoso.example",
    "name": "Anna Keller",
    "accountType": "work",
    "identityProvider": "https://login.microsoftonline.com/tenant/v2.0",
    "homeTenantId": "tenant",
}
ACCEPTED_BY_STORED = {  # the same user as the Data column stores it
    "object_id": "b2c-object-id-0001",
    "email": "anna@contoso.example",
    "name": "Anna Keller",
    "account_type": "work",
    "identity_provider": "https://login.microsoftonline.com/tenant/v2.0",
    "home_tenant_id": "tenant",
}


def test_reset_of_an_accepted_invitation_makes_it_pending_again(api: Api, stored: Stored, staff_auth: dict[str, str]) -> None:
    address = unique_email("accepted")
    created = api.invite(invitee=invitee(address))
    stored.rewrite(created["id"], status="accepted", accepted_by=ACCEPTED_BY_STORED, accepted_at=datetime.now(UTC))
    view = api.get(f"/invitations/{created['id']}").json()
    assert view["status"] == "accepted" and view["acceptedBy"] == ACCEPTED_BY
    assert [item["id"] for page in list_all(api, 50, email=address, status="accepted") for item in page] == [created["id"]]

    response = api.post(f"/invitations/{created['id']}/reset", headers=staff_auth)
    assert response.status_code == 200, response.text
    reset = response.json()
    assert reset["status"] == "pending" and reset["acceptedBy"] is None and reset["acceptedAt"] is None
    entity = stored.invitation(created["id"])
    assert entity["Status"] == "pending"
    assert entity["data"]["accepted_by"] is None and entity["data"]["accepted_at"] is None
    event = stored.audit(created["id"])[-1]
    assert (event["action"], event["actor"], event["from_status"], event["to_status"]) == ("redemption-reset", STAFF, "accepted", "pending")
    problem(api.post(f"/invitations/{created['id']}/reset"), 409, "invitation-pending")


def test_a_completed_invitation_can_no_longer_be_changed(api: Api, stored: Stored, outbox: Outbox) -> None:
    address = unique_email("completed")
    created = api.invite(invitee=invitee(address))
    stored.rewrite(
        created["id"],
        status="completed",
        accepted_by=ACCEPTED_BY_STORED,
        accepted_at=datetime.now(UTC),
        completed_at=datetime.now(UTC),
        company_id=str(uuid.uuid4()),
    )
    for action in ("revoke", "resend", "reset"):
        problem(api.post(f"/invitations/{created['id']}/{action}"), 409, "invitation-completed")
    assert stored.invitation(created["id"])["Status"] == "completed"
    assert stored.actions(created["id"]) == ["created", "email-sent"]
    assert len(outbox.messages_to(address)) == 1


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_revokes_succeed_exactly_once(stack: LocalStack, api: Api, stored: Stored) -> None:
    created = api.invite()
    url = f"{stack.base_url}/api/invitations/{created['id']}/revoke"
    workers = 8
    start = threading.Barrier(workers)

    def revoke(n: int) -> requests.Response:
        token = user_token(stack, f"staff-{n}@rconnect.example")  # each racer its own staff member
        start.wait(timeout=10)
        headers = {"x-functions-key": stack.config.functions_key, "Authorization": f"Bearer {token}"}
        return requests.post(url, headers=headers, timeout=30)

    with ThreadPoolExecutor(workers) as pool:
        responses = list(pool.map(revoke, range(workers)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * (workers - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            problem(response, 409)
    [winner] = [response.json() for response in responses if response.status_code == 200]
    revoked_events = [event for event in stored.audit(created["id"]) if event["action"] == "revoked"]
    assert len(revoked_events) == 1
    assert revoked_events[0]["actor"] == winner["history"][-1]["actor"] != "staff-api-key"
    entity = stored.invitation(created["id"])
    assert entity["Status"] == "revoked" and entity["data"]["revoked_at"] == winner["revokedAt"]


@pytest.mark.parametrize("round_", range(4))  # the race is not hit every time: run it a few times
def test_concurrent_requests_with_one_idempotency_key_create_one_invitation(
    stack: LocalStack, api: Api, stored: Stored, outbox: Outbox, round_: int
) -> None:
    address, key = unique_email("retry"), f"order-{uuid.uuid4()}"
    body = invitation_body(invitee=invitee(address))
    workers = 6
    start = threading.Barrier(workers)

    def create(_: int) -> requests.Response:
        start.wait(timeout=10)
        headers = {"x-functions-key": stack.config.functions_key, "Idempotency-Key": key}
        return requests.post(f"{stack.base_url}/api/invitations", json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(workers) as pool:
        responses = list(pool.map(create, range(workers)))

    # A retry racing the first request is a replay of it, never a conflict or a second invitation.
    assert [response.status_code for response in responses] == [201] * workers, [r.text for r in responses]
    assert len({response.json()["id"] for response in responses}) == 1
    assert sum("Idempotent-Replayed" not in response.headers for response in responses) == 1
    [row] = stored.rows_for_email(address)
    assert row["PartitionKey"] == responses[0].json()["id"]
    api.email_settled(row["PartitionKey"])
    assert len(outbox.messages_to(address)) == 1
    assert stored.actions(row["PartitionKey"]) == ["created", "email-sent"]


# -- one open invitation per address ---------------------------------------------------------------


def test_a_second_open_invitation_for_an_address_is_a_409_naming_the_first(api: Api, stored: Stored, outbox: Outbox) -> None:
    address = unique_email()
    first = api.invite(invitee=invitee(address))
    # The address as another spelling of the same mailbox (case) is the same invitee.
    response = api.post("/invitations", json=invitation_body(invitee=invitee(address.upper())))
    body = problem(response, 409, "duplicate-invitation")
    assert body["existingInvitationId"] == first["id"] and body["existingInvitation"] == f"/api/invitations/{first['id']}"
    assert first["id"] in body["detail"] and "allowDuplicate" in body["detail"]
    assert api.get(body["existingInvitation"].removeprefix("/api")).json()["id"] == first["id"]
    assert len(stored.rows_for_email(address)) == 1 and len(outbox.messages_to(address)) == 1

    # A deliberate second one is created and e-mailed.
    deliberate = api.post("/invitations", json=invitation_body(invitee=invitee(address), allowDuplicate=True))
    assert deliberate.status_code == 201, deliberate.text
    assert len(stored.rows_for_email(address)) == 2
    outbox.wait_for(address, count=2)


@pytest.mark.parametrize("closing", ["revoke", "expire"])
def test_once_the_open_invitation_is_revoked_or_expired_the_address_can_be_invited_again(api: Api, stored: Stored, closing: str) -> None:
    address = unique_email()
    first = api.invite(invitee=invitee(address))
    if closing == "revoke":
        assert api.post(f"/invitations/{first['id']}/revoke").status_code == 200
    else:
        stored.expire(first["id"])
    again = api.post("/invitations", json=invitation_body(invitee=invitee(address)))
    assert again.status_code == 201, again.text
    # ...and the new one is now the address's open invitation.
    third = problem(api.post("/invitations", json=invitation_body(invitee=invitee(address))), 409, "duplicate-invitation")
    assert third["existingInvitationId"] == again.json()["id"]
    # Both are listed under the address (the claim moved on; the former holder kept its place).
    listed = api.get("/invitations", params={"email": address}).json()["value"]
    assert sorted(item["id"] for item in listed) == sorted([first["id"], again.json()["id"]])


def test_an_idempotent_replay_is_not_a_duplicate(api: Api) -> None:
    body, key = invitation_body(), {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = api.post("/invitations", json=body, headers=key)
    replay = api.post("/invitations", json=body, headers=key)
    assert first.status_code == replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]


def test_concurrent_creates_for_a_new_address_create_one_invitation(api: Api, stored: Stored) -> None:
    address, racers = unique_email(), 8
    start = threading.Barrier(racers)

    def create(_: int) -> requests.Response:
        start.wait()
        return api.post("/invitations", json=invitation_body(invitee=invitee(address)))

    with ThreadPoolExecutor(racers) as pool:
        responses = list(pool.map(create, range(racers)))
    created = [response for response in responses if response.status_code == 201]
    assert len(created) == 1, [response.status_code for response in responses]
    for response in responses:
        if response is not created[0]:
            assert problem(response, 409)["existingInvitationId"] == created[0].json()["id"]
    assert [row["PartitionKey"] for row in stored.rows_for_email(address)] == [created[0].json()["id"]]
