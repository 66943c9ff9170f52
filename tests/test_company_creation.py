"""CREATE COMPANY as intent first: the guarded write completes the invitation, the `company-create`
queue worker then writes the company and its admin membership.

The invariant every test here checks once the workers are done: a company exists only for a
completed invitation, and its one admin is the account that completed it. Everything runs
against the real local stack (the dev host with its queue triggers, Azurite, the local B2C).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from shared.adapters.tables import COMPANIES, INVITATIONS
from tests.queues import COMPANY_CREATE, EventLog, Queues
from tests.storage import Stored, iso
from tests.support import Api, eventually
from tests.test_invitations_api import PROBLEM_BASE, problem
from tests.test_invitee_pages import (  # noqa: F401  (invite is a fixture)
    COOKIE,
    TIMEOUT,
    Invitee,
    assert_html_page,
    invite,
    page_kind,
    signed_in,
    text_of,
)
from tools.localstack.stack import LocalStack

ROUNDS = 10
SUBMITS, REVOKES, RESETS = 4, 3, 3  # per round, all released at once


# -- helpers ---------------------------------------------------------------------------------------


def completion_settled(api: Api, invitation_id: str) -> dict[str, Any]:
    """The API's view once the company worker has finished (completion status created or failed)."""

    def done() -> dict[str, Any] | None:
        view = api.get(f"/invitations/{invitation_id}").json()
        completion = view.get("completion")
        return view if completion and completion["status"] != "pending" else None

    return eventually(done, f"the company of invitation {invitation_id} to be created")


def assert_invariant(stored: Stored, queues: Queues, invitation_id: str) -> dict[str, Any] | None:
    """Once nothing is left on the company queue: a company exists only if the invitation is
    completed, and then its one member is an admin, the account that completed it. The company."""
    queues.wait_until_drained(COMPANY_CREATE)
    entity = stored.invitation(invitation_id)
    companies = stored.company_rows(invitation_id)
    if entity["Status"] != "completed":
        assert companies == [], (entity["Status"], companies)
        assert entity["data"].get("completion") is None
        return None
    completion = entity["data"]["completion"]
    assert completion["status"] == "created", completion
    [company] = companies
    assert company["PartitionKey"] == completion["company_id"] == entity["data"]["company_id"]
    admin = completion["account"]
    [member] = stored.members(company["PartitionKey"])
    assert member["RowKey"] == f"member-{admin['object_id']}" and member["Role"] == "admin"
    assert member["Email"] == admin["email"]
    assert company["data"]["created_by"]["object_id"] == admin["object_id"]
    return company


def complete_without_message(stored: Stored, invitation_id: str, company_id: str, **account: str) -> None:
    """Rewrite the signed-in invitation as CREATE COMPANY leaves it (completed, the company still to
    create) without the company-create message that would go with it: the test sends its own.
    `account` overrides fields of the completing account, as stored."""
    data = stored.invitation(invitation_id)["data"]
    now = iso(datetime.now(UTC))
    completion = {
        "company_id": company_id,
        "company": data["company"],
        "contact_name": "Anna Keller",
        "account": {**data["accepted_by"], **account},
        "completed_at": now,
        "status": "pending",
        "error": None,
        "updated_at": now,
    }
    stored.rewrite(invitation_id, status="completed", completed_at=now, company_id=company_id, completion=completion)


def submit(stack: LocalStack, cookie: str, values: dict[str, str]) -> requests.Response:
    """POST the company form with a session cookie, as one browser tab (own connection)."""
    return requests.post(
        f"{stack.base_url}/api/CreateCompany",
        data=values,
        headers={"Cookie": f"{COOKIE}={cookie}"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def staff(stack: LocalStack, invitation_id: str, action: str, n: int) -> requests.Response:
    return requests.post(
        f"{stack.base_url}/api/invitations/{invitation_id}/{action}",
        headers={"x-functions-key": stack.config.functions_key},
        timeout=TIMEOUT,
    )


def problem_code(response: requests.Response) -> str:
    """The problem's code (the last segment of its type), after checking it is a well-formed 409 problem."""
    return str(problem(response, 409)["type"]).removeprefix(PROBLEM_BASE)


# -- the completion intent and the worker ----------------------------------------------------------


def test_create_company_completes_first_then_the_worker_creates_company_and_admin(
    stack: LocalStack, api: Api, invite: Any, stored: Stored, queues: Queues
) -> None:
    invitee = signed_in(invite)
    account = stored.invitation(invitee.id)["data"]["accepted_by"]
    values = {**invitee.company_form(), "name": "Contoso Fluidics AG", "phone": "+41 52 999 88 77", "vat_number": "che-987.654.321"}
    response = invitee.submit(values)
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["Location"] == f"{stack.base_url}/api/Welcome"

    # The answer came after the guarded write only: the invitation holds the whole intent.
    view = api.get(f"/invitations/{invitee.id}").json()
    assert view["status"] == "completed"
    completion = view["completion"]
    assert completion["status"] in ("pending", "created") and completion["error"] is None
    assert completion["companyId"] == view["companyId"] and uuid.UUID(completion["companyId"]).version == 5
    assert completion["company"]["name"] == "Contoso Fluidics AG" and completion["company"]["vatNumber"] == "CHE-987.654.321"
    assert completion["contactName"] == values["contact_name"]
    assert completion["account"]["objectId"] == account["object_id"] and completion["account"]["email"] == invitee.email
    assert [event["action"] for event in view["history"]][-1] == "completed"

    # The welcome page reads the invitation's completed data, whether or not the worker ran yet.
    welcome = invitee.get(response.headers["Location"], cookie=invitee.cookie)
    assert_html_page(welcome, 200)
    assert "Your company Contoso Fluidics AG is ready" in text_of(welcome)

    settled = completion_settled(api, invitee.id)
    assert settled["completion"]["status"] == "created" and settled["completion"]["error"] is None
    assert [event["action"] for event in settled["history"]][-2:] == ["completed", "company-created"]
    company = assert_invariant(stored, queues, invitee.id)
    assert company is not None
    assert company["data"]["data"]["name"] == "Contoso Fluidics AG" and company["data"]["data"]["phone"] == "+41 52 999 88 77"

    # Once completed, staff can no longer take it back, and posting again changes nothing.
    for action in ("revoke", "reset"):
        refused = api.post(f"/invitations/{invitee.id}/{action}")
        assert refused.status_code == 409 and problem_code(refused) == "invitation-completed"
    assert invitee.submit({**values, "name": "Another Name AG"}).status_code == 303
    assert_invariant(stored, queues, invitee.id)
    assert stored.company_rows(invitee.id)[0]["data"]["data"]["name"] == "Contoso Fluidics AG"
    assert stored.actions(invitee.id).count("completed") == 1
    assert stored.actions(invitee.id).count("company-created") == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_revoke_and_reset_racing_create_company_never_fail_and_keep_the_invariant(
    stack: LocalStack, invite: Any, stored: Stored, queues: Queues, round_: int
) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    cookie = invitee.cookie
    assert cookie
    plan = ["submit"] * SUBMITS + ["revoke"] * REVOKES + ["reset"] * RESETS
    start = threading.Barrier(len(plan))

    def act(n: int) -> tuple[str, requests.Response]:
        kind = plan[n]
        start.wait(timeout=30)
        return kind, submit(stack, cookie, values) if kind == "submit" else staff(stack, invitee.id, kind, n)

    with ThreadPoolExecutor(len(plan)) as pool:
        results = list(pool.map(act, range(len(plan))))

    server_errors = [(kind, r.status_code, r.text[:500]) for kind, r in results if r.status_code >= 500]
    assert server_errors == []
    by_kind: dict[str, list[requests.Response]] = {kind: [r for k, r in results if k == kind] for kind in set(plan)}
    for response in by_kind["submit"]:
        # 303: completed (by this or another tab); 410: revoked first; 401: reset first (not signed in any more).
        assert response.status_code in (303, 401, 410), (response.status_code, response.text[:500])
        if response.status_code == 303:
            assert response.headers["Location"] == f"{stack.base_url}/api/Welcome"
        else:
            assert_html_page(response, response.status_code)
    for response in by_kind["revoke"] + by_kind["reset"]:
        assert response.status_code in (200, 409), (response.status_code, response.text[:500])

    company = assert_invariant(stored, queues, invitee.id)
    entity = stored.invitation(invitee.id)
    actions = Counter(stored.actions(invitee.id))
    completed = entity["Status"] == "completed"
    assert completed == any(r.status_code == 303 for r in by_kind["submit"])
    assert actions["completed"] == int(completed) and (company is not None) == completed
    assert actions["revoked"] == sum(r.status_code == 200 for r in by_kind["revoke"])
    assert actions["redemption-reset"] == sum(r.status_code == 200 for r in by_kind["reset"])
    if completed:
        # Completion won: every staff request came after it and was refused as such.
        assert {problem_code(r) for r in by_kind["revoke"] + by_kind["reset"]} == {"invitation-completed"}
        assert entity["data"]["completion"]["account"]["object_id"] == entity["data"]["accepted_by"]["object_id"]
    else:
        assert entity["Status"] in ("revoked", "pending")


def test_after_a_reset_another_account_completes_and_the_removed_account_is_not_admin(
    stack: LocalStack, api: Api, invite: Any, stored: Stored, queues: Queues
) -> None:
    wrong = invite()
    assert wrong.sign_in(kind="work").status_code == 302
    wrong_account = stored.invitation(wrong.id)["data"]["accepted_by"]
    wrong_values = wrong.company_form()
    assert api.post(f"/invitations/{wrong.id}/reset").status_code == 200

    # The invitee signs in again with the right account: a local account, another B2C object.
    right = Invitee(stack, wrong.invitation)
    assert right.sign_in(kind="local").status_code == 302
    right_account = stored.invitation(right.id)["data"]["accepted_by"]
    assert right_account["object_id"] != wrong_account["object_id"] and right_account["account_type"] == "local"

    # The removed account's tab is still open: its submit is refused and creates nothing.
    stale = wrong.submit(wrong_values)
    assert_html_page(stale, 401)
    assert page_kind(stale) == "session-expired"
    assert stored.invitation(right.id)["Status"] == "accepted"

    assert right.submit(right.company_form()).status_code == 303
    completion_settled(api, right.id)
    company = assert_invariant(stored, queues, right.id)
    assert company is not None
    members = [member["RowKey"] for member in stored.members(company["PartitionKey"])]
    assert members == [f"member-{right_account['object_id']}"]


def test_many_tabs_submitting_at_once_create_one_company_with_one_tabs_data(
    stack: LocalStack, api: Api, invite: Any, stored: Stored, queues: Queues
) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    cookie = invitee.cookie
    assert cookie
    tabs = 6
    start = threading.Barrier(tabs)

    def tab(n: int) -> requests.Response:
        start.wait(timeout=30)
        return submit(stack, cookie, {**values, "name": f"Tab {n} AG"})

    with ThreadPoolExecutor(tabs) as pool:
        responses = list(pool.map(tab, range(tabs)))
    assert [r.status_code for r in responses] == [303] * tabs, [r.text[:500] for r in responses]
    completion_settled(api, invitee.id)
    company = assert_invariant(stored, queues, invitee.id)
    assert company is not None
    name = stored.invitation(invitee.id)["data"]["completion"]["company"]["name"]
    assert name in {f"Tab {n} AG" for n in range(tabs)} and company["data"]["data"]["name"] == name
    assert stored.actions(invitee.id).count("completed") == 1


# -- the company-create queue ----------------------------------------------------------------------


def test_a_company_create_message_delivered_again_creates_one_company_and_one_admin(
    api: Api, invite: Any, stored: Stored, queues: Queues
) -> None:
    invitee = signed_in(invite)
    assert invitee.submit(invitee.company_form()).status_code == 303
    company_id = stored.invitation(invitee.id)["data"]["company_id"]
    message = {"invitationId": invitee.id, "companyId": company_id}
    # Redeliveries racing the first delivery, then one after the worker is done.
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: queues.send_json(COMPANY_CREATE, message), range(3)))
    completion_settled(api, invitee.id)
    queues.wait_until_drained(COMPANY_CREATE)
    queues.send_json(COMPANY_CREATE, message)
    assert_invariant(stored, queues, invitee.id)
    assert stored.actions(invitee.id).count("company-created") == 1
    assert queues.waiting(f"{COMPANY_CREATE}-poison") == 0


def test_a_company_create_message_for_an_invitation_not_completed_creates_nothing(
    api: Api, invite: Any, stored: Stored, queues: Queues
) -> None:
    accepted = signed_in(invite)
    revoked = invite()
    assert api.post(f"/invitations/{revoked.id}/revoke").status_code == 200
    for invitation_id in (accepted.id, revoked.id, str(uuid.uuid4())):
        queues.send_json(COMPANY_CREATE, {"invitationId": invitation_id, "companyId": str(uuid.uuid4())})
    queues.wait_until_drained(COMPANY_CREATE)
    for invitee in (accepted, revoked):
        assert_invariant(stored, queues, invitee.id)
        assert "company-created" not in stored.actions(invitee.id)
    assert stored.invitation(accepted.id)["Status"] == "accepted"
    # A stale message is a no-op, not a failure: nothing is poisoned.
    assert queues.waiting(f"{COMPANY_CREATE}-poison") == 0


def test_a_malformed_company_create_message_is_dropped_once_and_changes_nothing(
    stack: LocalStack, invite: Any, stored: Stored, queues: Queues
) -> None:
    invitee = signed_in(invite)
    company_id = str(uuid.uuid4())
    complete_without_message(stored, invitee.id, company_id)  # a well-formed message creates it (the end shows it)
    before = stored.partition(INVITATIONS, invitee.id)
    poison = f"{COMPANY_CREATE}-poison"
    sent = [
        queues.send(COMPANY_CREATE, b"not json"),
        queues.send_json(COMPANY_CREATE, {"invitationId": invitee.id}),
        queues.send_json(COMPANY_CREATE, {"invitationId": invitee.id, "companyId": 42}),
        # Ids that cannot be ours: checked before they become a key, not retried as a storage outage.
        queues.send_json(COMPANY_CREATE, {"invitationId": f"{invitee.id}/x", "companyId": company_id}),
        queues.send_json(COMPANY_CREATE, {"invitationId": invitee.id, "companyId": f"{company_id}#x"}),
        queues.send_json(poison, {"invitationId": invitee.id}),  # the poison handler reads the same message
    ]

    def dropped() -> list[str] | None:
        log = stack.log_text("app").splitlines()
        lines = [[line for line in log if f"Dropped malformed {COMPANY_CREATE} message {message_id}" in line] for message_id in sent]
        return [line for found in lines for line in found] if all(lines) else None

    lines = eventually(dropped, "the company-create worker to log each malformed message as dropped")
    # `waiting` counts messages being worked on too: once it is 0 each message was deleted, not put
    # back, so the host has nothing left to retry and nothing reaches a poison queue later.
    for queue in (COMPANY_CREATE, poison):
        queues.wait_until_drained(queue)
    assert len(lines) == len(sent), lines  # each handled once, never retried
    assert queues.waiting(poison) == queues.waiting(f"{poison}-poison") == 0
    assert stored.partition(INVITATIONS, invitee.id) == before  # the invitation and its history untouched
    assert stored.partition(COMPANIES, company_id) == []

    queues.send_json(COMPANY_CREATE, {"invitationId": invitee.id, "companyId": company_id})
    company = assert_invariant(stored, queues, invitee.id)
    assert company is not None and company["PartitionKey"] == company_id


def test_a_company_that_cannot_be_written_ends_failed_with_its_error_after_the_poison_queue(
    api: Api, invite: Any, stored: Stored, queues: Queues
) -> None:
    invitee = signed_in(invite)
    # A stored completion whose admin Table Storage refuses as a key (the member row's RowKey holds
    # its object id): every attempt fails the same way. (A message's ids never reach a key unchecked.)
    company_id = str(uuid.uuid4())
    complete_without_message(stored, invitee.id, company_id, object_id="bad/object#id")
    queues.send_json(COMPANY_CREATE, {"invitationId": invitee.id, "companyId": company_id})

    def failed() -> dict[str, Any] | None:
        view = api.get(f"/invitations/{invitee.id}").json()
        return view if view["completion"]["status"] == "failed" else None

    # maxDequeueCount (5) attempts, each visible again after visibilityTimeout (5 s), then the poison queue.
    view = eventually(failed, "the poisoned company-create to mark the completion failed", timeout=120)
    error = view["completion"]["error"]
    assert error and "TableTransactionError" in error, error
    [outcome] = [event for event in view["history"] if event["action"] == "company-failed"]
    assert outcome["detail"] == error and outcome["actor"] == "company-create"
    assert stored.company_rows(invitee.id) == []
    queues.wait_until_drained(f"{COMPANY_CREATE}-poison")


# -- the sweeper ------------------------------------------------------------------------------------


def test_a_completion_whose_message_and_events_were_lost_is_carried_out_by_the_sweeper(sweeping_stack: LocalStack) -> None:
    api, stored, queues = Api(sweeping_stack), Stored.of(sweeping_stack), Queues.of(sweeping_stack)
    events = EventLog(queues)
    invitee = Invitee(sweeping_stack, api.invite())
    assert invitee.sign_in().status_code == 302
    values = invitee.company_form()

    sweeping_stack.stop_service("azurite-queue")  # the completion is written; its message and event cannot be
    response = invitee.submit(values)
    assert response.status_code == 303, response.text[:2000]
    sweeping_stack.kill_service("app")  # and the app dies right after
    entity = stored.table("Invitations").get_entity(invitee.id, "invitation")
    assert entity["Status"] == "completed" and entity["OutstandingSince"], "the intent is findable by the sweeper"
    assert stored.company_rows(invitee.id) == []

    sweeping_stack.start_service("azurite-queue")
    sweeping_stack.start_service("app")  # nothing enqueued the company or published the events: only the sweeper can
    settled = completion_settled(api, invitee.id)
    assert settled["completion"]["status"] == "created"
    assert assert_invariant(stored, queues, invitee.id) is not None
    prefix = "com.rconnect.invitation."
    events.wait_for(invitee.id, [prefix + name for name in ("created", "accepted", "completed")])
    eventually(
        lambda: "OutstandingSince" not in stored.table("Invitations").get_entity(invitee.id, "invitation"),
        "nothing left outstanding",
    )
