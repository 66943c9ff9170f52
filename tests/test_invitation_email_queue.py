"""The invitation e-mail as an intent: the guarded write records it (queued), the `invitation-email`
queue worker sends it through ACS (or the outbox) without waiting for ACS to confirm, delivery
reports from Event Grid settle it, and the sweeper re-drives an
intent whose message was lost. Everything through public surfaces: HTTP, the ACS fake, Azurite.
A poisoned send is tested in test_invitation_email_delivery.py.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.fakes.acs_email_server import AcsEmailFake
from tests.storage import Stored
from tests.support import Api, Outbox, eventually, invitation_body, unique_email
from tests.test_invitations_api import problem
from tools.localstack.stack import LocalStack

FINAL_STATES = {"Delivered": "delivered", "Bounced": "bounced", "Suppressed": "suppressed", "Failed": "failed"}


@pytest.fixture(scope="module")
def webhook(acs_stack: LocalStack, acs_fake: AcsEmailFake) -> str:
    """The delivery-report webhook, subscribed the way Event Grid does it (validation handshake first)."""
    url = f"{acs_stack.base_url}/api/events/acs?code={acs_stack.config.functions_key}"
    acs_fake.subscribe(url)
    return url


@pytest.fixture(autouse=True)
def healthy_acs(acs_fake: AcsEmailFake) -> Iterator[None]:
    acs_fake.reset()
    yield
    acs_fake.reset()


def email_outstanding(stored: Stored, invitation: dict[str, Any]) -> bool:
    """Whether the row's OutstandingSince (the sweeper's filter) is held by the e-mail's queued send;
    other intents (lifecycle events not yet settled) may hold it at a later time."""
    row = stored.table("Invitations").get_entity(invitation["id"], "invitation")
    queued_at = datetime.fromisoformat(invitation["email"]["queuedAt"])
    return "OutstandingSince" in row and row["OutstandingSince"] <= queued_at


def sends_in_history(invitation: dict[str, Any]) -> list[str]:
    """The send ids the invitation's history records as intents (creation and every resend), in order."""
    return [event["sendId"] for event in invitation["history"] if event["action"] in ("created", "email-resent")]


def test_create_answers_queued_and_the_queue_worker_writes_the_email_to_the_outbox(api: Api, outbox: Outbox, stored: Stored) -> None:
    address = unique_email()
    response = api.post("/invitations", json=invitation_body(invitee={"email": address, "displayName": "Anna Keller"}))

    assert response.status_code == 201, response.text
    created = response.json()
    email = created["email"]
    assert email["status"] == "queued" and email["attempt"] == 1 and email["error"] is None
    assert uuid.UUID(email["sendId"]) and email["queuedAt"]
    assert sends_in_history(created) == [email["sendId"]], "the intent is written with the invitation"

    [message] = outbox.wait_for(address)
    assert created["inviteRedeemUrl"] in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    sent = api.email_settled(created["id"])
    assert sent["email"]["status"] == "sent" and sent["email"]["sendId"] == email["sendId"]
    assert sent["email"]["attempt"] == 1 and sent["email"]["operationId"]
    assert [event["action"] for event in sent["history"]] == ["created", "email-sent"]
    assert not email_outstanding(stored, sent), "the sweeper has nothing left to send"
    assert len(outbox.messages_to(address)) == 1


def test_twenty_concurrent_resends_record_every_email_that_left_exactly_once(acs_api: Api, acs_fake: AcsEmailFake) -> None:
    address = unique_email()
    created = acs_api.invite(invitee={"email": address, "displayName": "Anna Keller"})
    acs_fake.stall_next(1.0, times=3)  # ACS slow to accept: some resends meet a send still queued
    start = threading.Barrier(20)

    def resend(_: int) -> requests.Response:
        start.wait()
        return acs_api.post(f"/invitations/{created['id']}/resend")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(resend, range(20)))

    assert [answer.status_code for answer in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    settled = acs_api.email_settled(created["id"])
    recorded = sends_in_history(settled)
    assert len(recorded) == len(set(recorded)) >= 2
    assert {answer.json()["email"]["sendId"] for answer in answers} <= set(recorded), "every answer names a recorded send"
    left = [delivery.operation_id for delivery in acs_fake.deliveries_to(address)]
    assert sorted(left) == sorted(recorded), "every e-mail that left is one recorded send, and every send left once"
    assert settled["email"]["attempt"] == len(recorded) and settled["email"]["sendId"] == recorded[-1]
    assert settled["email"]["status"] == "sent"


def test_a_resend_while_the_send_is_queued_returns_that_send(acs_api: Api, acs_fake: AcsEmailFake) -> None:
    address = unique_email()
    acs_fake.stall_next(3.0)  # the first send hangs in ACS, so it is still queued when staff press resend
    created = acs_api.post("/invitations", json=invitation_body(invitee={"email": address, "displayName": "A K"})).json()

    resent = acs_api.post(f"/invitations/{created['id']}/resend")

    assert resent.status_code == 200, resent.text
    email = resent.json()["email"]
    assert (email["sendId"], email["attempt"], email["status"]) == (created["email"]["sendId"], 1, "queued")
    settled = acs_api.email_settled(created["id"])
    assert settled["email"]["status"] == "sent" and settled["email"]["attempt"] == 1
    assert [d.operation_id for d in acs_fake.deliveries_to(address)] == [created["email"]["sendId"]]
    assert [event["action"] for event in settled["history"]] == ["created", "email-sent"]


def test_a_revoked_invitation_is_not_resent_whether_or_not_its_send_is_still_queued(acs_api: Api, acs_fake: AcsEmailFake) -> None:
    address = unique_email()
    acs_fake.stall_next(3.0)
    before = acs_fake.send_attempts
    created = acs_api.post("/invitations", json=invitation_body(invitee={"email": address, "displayName": "A K"})).json()
    eventually(lambda: acs_fake.send_attempts > before, "the worker to hand the e-mail to ACS")  # which holds it 3 s
    revoked = acs_api.post(f"/invitations/{created['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["email"]["status"] == "queued", revoked.text

    while_queued = acs_api.post(f"/invitations/{created['id']}/resend")
    settled = acs_api.email_settled(created["id"])
    once_settled = acs_api.post(f"/invitations/{created['id']}/resend")

    for answer in (while_queued, once_settled):
        problem(answer, 409, "invitation-revoked")
    assert settled["email"]["attempt"] == 1
    assert "email-resent" not in [event["action"] for event in acs_api.invitation(created["id"])["history"]]


@pytest.mark.parametrize("fault", ["confirms-after-15-s", "status-poll-404"])
def test_a_slow_or_forgetful_acs_neither_fails_the_send_nor_duplicates_it(acs_api: Api, acs_fake: AcsEmailFake, fault: str) -> None:
    if fault == "confirms-after-15-s":
        acs_fake.confirm_after(15)
    else:
        acs_fake.answer_status_polls_with_404()
    address = unique_email()
    created = acs_api.invite(invitee={"email": address, "displayName": "Anna Keller"})

    settled = acs_api.email_settled(created["id"])

    email = settled["email"]
    assert (email["status"], email["error"]) == ("sent", None)
    assert email["operationId"] == email["sendId"] == created["email"]["sendId"], "the send id is ACS's operation id"
    assert [d.operation_id for d in acs_fake.deliveries_to(address)] == [email["sendId"]]
    assert "email-failed" not in [event["action"] for event in settled["history"]]


@pytest.mark.parametrize(("report", "state"), FINAL_STATES.items())
def test_a_delivery_report_settles_the_email_in_the_api_and_the_history(
    acs_api: Api, acs_fake: AcsEmailFake, acs_stored: Stored, webhook: str, report: str, state: str
) -> None:
    sent = acs_api.invite()
    assert sent["email"]["status"] == "sent"

    answer = acs_fake.report([sent["email"]["operationId"]], report)

    assert answer.status_code == 200, answer.text
    invitation = acs_api.invitation(sent["id"])
    email = invitation["email"]
    assert email["status"] == state and email["sendId"] == sent["email"]["sendId"]
    assert (email["error"] is None) == (state == "delivered")
    last = invitation["history"][-1]
    assert last["action"] == f"email-{state}" and last["sendId"] == email["sendId"]
    assert invitation["status"] == "pending", "the e-mail's fate does not change the invitation's"
    assert acs_stored.invitation(sent["id"])["data"]["email"]["status"] == state


def test_a_report_delivered_twice_or_for_an_unknown_send_changes_nothing(acs_api: Api, acs_fake: AcsEmailFake, webhook: str) -> None:
    created = acs_api.invite()
    operation_id = created["email"]["operationId"]

    # Event Grid delivers at least once; a second copy, or a report for a send that is not ours, is a no-op.
    for _ in range(2):
        assert acs_fake.report([operation_id, str(uuid.uuid4())], "Bounced").status_code == 200

    history = acs_api.invitation(created["id"])["history"]
    assert [event["action"] for event in history] == ["created", "email-sent", "email-bounced"]


def test_reports_arriving_with_the_send_still_settle_it(acs_api: Api, acs_fake: AcsEmailFake, webhook: str) -> None:
    acs_fake.report_automatically("Delivered")
    created = acs_api.invite()

    delivered = acs_api.email_settled(created["id"], "delivered")

    assert delivered["email"]["operationId"] == delivered["email"]["sendId"] == created["email"]["sendId"]
    # The report may even overtake the worker's record of the send: the send is settled either way.
    actions = [event["action"] for event in delivered["history"]]
    assert actions[0] == "created" and actions[-1] == "email-delivered" and actions.count("email-delivered") == 1


def test_the_webhook_answers_event_grid_and_refuses_strangers(acs_stack: LocalStack, webhook: str) -> None:
    bare = f"{acs_stack.base_url}/api/events/acs"
    assert requests.post(bare, json=[], timeout=30).status_code == 401, "the function key is required"
    garbage = requests.post(webhook, data=b"{not json", headers={"aeg-event-type": "Notification"}, timeout=30)
    assert garbage.status_code == 400 and garbage.headers["Content-Type"].startswith("application/problem+json")
    assert requests.post(webhook, json={"not": "a list"}, timeout=30).status_code == 400


# -- the sweeper ------------------------------------------------------------------------------------


def test_an_email_whose_enqueue_was_lost_in_a_crash_is_sent_by_the_sweeper(sweeping_stack: LocalStack) -> None:
    api, outbox = Api(sweeping_stack), Outbox(sweeping_stack.outbox)
    address = unique_email()
    sweeping_stack.stop_service("azurite-queue")  # the invitation is written, its message cannot be
    response = api.post("/invitations", json=invitation_body(invitee={"email": address, "displayName": "Anna Keller"}))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"]["status"] == "queued"
    sweeping_stack.kill_service("app")  # the app dies right after the write
    assert email_outstanding(Stored.of(sweeping_stack), created), "the intent is findable by the sweeper"

    sweeping_stack.start_service("azurite-queue")
    sweeping_stack.start_service("app")  # nothing enqueued the e-mail: only the sweeper can send it

    [_message] = outbox.wait_for(address)
    settled = api.email_settled(created["id"])
    assert settled["email"]["status"] == "sent" and settled["email"]["sendId"] == created["email"]["sendId"]
    assert not email_outstanding(Stored.of(sweeping_stack), settled)
