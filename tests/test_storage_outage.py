"""Storage down mid-flow: clear 503s within about 3 s, then the same flows complete and nothing is lost.

Azurite is really stopped (the way it saves: `LocalStack.stop_service("azurite")`) and
started again on the same folder, in a stack of this module's own, so the shared stack of
the other modules never sees the outage. The latency bound is the issue's "within about
3 s" with a margin for this shared machine; it is a behaviour (bounded retries instead of
the SDK's default 5-10 s), not a speed measurement (those are `make bench`'s).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.storage import Stored
from tests.support import Api, eventually, invitation_body
from tests.test_invitee_pages import Invitee, assert_html_page, page_kind, session_cookie
from tools.localstack.stack import LocalStack, StackConfig

OUTAGE_ANSWER_SECONDS = 4.5  # issue 9: "within about 3 s"; the rest is this 2-core machine's noise


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(StackConfig.on_free_ports(tmp_path_factory.mktemp("outage"))) as running:
        yield running


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call(*args, **kwargs)
    return response, time.monotonic() - started


def assert_api_unavailable(response: requests.Response, elapsed: float) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:1000])
    assert response.headers["Content-Type"].startswith("application/problem+json"), response.headers
    problem = response.json()
    assert problem["status"] == 503 and problem["detail"] and "Traceback" not in response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < OUTAGE_ANSWER_SECONDS, f"503 after {elapsed:.1f} s"


def assert_page_unavailable(response: requests.Response, elapsed: float) -> None:
    assert_html_page(response, 503)
    assert page_kind(response) == "unavailable", response.text[:2000]
    assert int(response.headers["Retry-After"]) >= 1
    assert session_cookie(response) is None
    assert elapsed < OUTAGE_ANSWER_SECONDS, f"503 page after {elapsed:.1f} s"


def test_storage_down_mid_flow_is_503_then_every_flow_completes_and_nothing_is_lost(outage_stack: LocalStack) -> None:
    api, stored = Api(outage_stack), Stored.of(outage_stack)
    earlier = api.invite()
    on_company_page = Invitee(outage_stack, api.invite())
    assert on_company_page.sign_in().status_code == 302
    values = on_company_page.company_form()
    signing_in = Invitee(outage_stack, api.invite())
    started = signing_in.start()
    assert started.status_code == 302
    just_before = api.invite()  # answered 201 an instant before the stop: it must survive it
    retried_body = invitation_body()
    history_before = {invitation["id"]: stored.audit(invitation["id"]) for invitation in (earlier, just_before)}

    outage_stack.stop_service("azurite")
    try:
        # The staff API: problem+json 503 with Retry-After, quickly.
        create, elapsed = timed(api.post, "/invitations", json=retried_body, headers={"Idempotency-Key": "outage-retry"})
        assert_api_unavailable(create, elapsed)
        for path in (f"/invitations/{just_before['id']}", f"/invitations?email={earlier['invitee']['email']}"):
            response, elapsed = timed(api.get, path)
            assert_api_unavailable(response, elapsed)
        revoke, elapsed = timed(api.post, f"/invitations/{earlier['id']}/revoke")
        assert_api_unavailable(revoke, elapsed)
        # The invitee's pages: a readable 503 page, quickly.
        link, elapsed = timed(Invitee(outage_stack, just_before).start)
        assert_page_unavailable(link, elapsed)
        page, elapsed = timed(on_company_page.company_page)
        assert_page_unavailable(page, elapsed)
        submit, elapsed = timed(on_company_page.submit, values)
        assert_page_unavailable(submit, elapsed)
        # The IdP needs no storage; our callback does. Its answer must stay usable for later.
        callback = signing_in.at_idp(started.headers["Location"])
        answered, elapsed = timed(signing_in.get, callback, cookie=signing_in.cookie)
        assert_page_unavailable(answered, elapsed)
    finally:
        outage_stack.start_service("azurite")

    # Service resumes at once, and the same flows complete.
    finished = signing_in.get(callback, cookie=signing_in.cookie)
    assert finished.status_code == 302 and finished.headers["Location"].endswith("/api/CreateCompany"), finished.text[:2000]
    completed = on_company_page.submit(values)
    assert completed.status_code == 303, completed.text[:2000]
    retried = api.post("/invitations", json=retried_body, headers={"Idempotency-Key": "outage-retry"})
    assert retried.status_code == 201, retried.text
    assert len(stored.rows_for_email(retried_body["invitee"]["email"])) == 1
    fresh = api.post("/invitations", json=invitation_body())
    assert fresh.status_code == 201, fresh.text

    # Every earlier record is intact, the last one written before the stop included.
    for invitation in (earlier, just_before):
        read = api.get(f"/invitations/{invitation['id']}")
        assert read.status_code == 200, read.text
        assert read.json()["status"] == "pending" and read.json()["invitee"] == invitation["invitee"]
        assert stored.audit(invitation["id"]) == history_before[invitation["id"]]
    assert stored.invitation(signing_in.id)["Status"] == "accepted"
    assert stored.actions(signing_in.id).count("accepted") == 1
    assert stored.invitation(on_company_page.id)["Status"] == "completed"
    # The company itself is written by the company-create queue worker, once the listener polls again.
    eventually(lambda: stored.company_rows(on_company_page.id), "the company written after the outage")
    assert len(stored.company_rows(on_company_page.id)) == 1
    assert stored.actions(on_company_page.id).count("completed") == 1


def test_a_table_deleted_behind_the_apps_back_is_recreated_never_a_409(outage_stack: LocalStack) -> None:
    api, stored = Api(outage_stack), Stored.of(outage_stack)
    assert api.post("/invitations", json=invitation_body()).status_code == 201  # the app's tables exist
    for name in ("Invitations", "IdempotencyKeys", "Users"):
        stored.tables.delete_table(name)

    body, key = invitation_body(), f"recreated-{uuid.uuid4()}"
    created = api.post("/invitations", json=body, headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.text
    invitation = created.json()
    assert stored.invitation(invitation["id"])["Status"] == "pending"
    assert api.get(f"/invitations/{invitation['id']}").status_code == 200
    # The e-mail link reads the invitation from the re-created table; the sign-in records the user in Users, gone too.
    invitee = Invitee(outage_stack, invitation)
    signed_in = invitee.sign_in()
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/api/CreateCompany"), signed_in.text[:2000]
    # A create that really conflicts is still told so (same key, another body).
    clash = api.post("/invitations", json={**body, "role": "user"}, headers={"Idempotency-Key": key})
    assert clash.status_code == 422, clash.text


def test_a_retry_of_a_create_answered_503_makes_one_invitation(outage_stack: LocalStack) -> None:
    """The CRM retries what got a 503: with its Idempotency-Key there is exactly one invitation."""
    api, stored = Api(outage_stack), Stored.of(outage_stack)
    body, key = invitation_body(), f"crm-{uuid.uuid4()}"
    outage_stack.stop_service("azurite")
    try:
        first, elapsed = timed(api.post, "/invitations", json=body, headers={"Idempotency-Key": key})
        assert_api_unavailable(first, elapsed)
    finally:
        outage_stack.start_service("azurite")
    answers = [api.post("/invitations", json=body, headers={"Idempotency-Key": key}) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert len(stored.rows_for_email(body["invitee"]["email"])) == 1
