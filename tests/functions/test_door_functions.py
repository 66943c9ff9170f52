"""Typed at the door, through the functions: what Event Grid or a queue delivers is parsed before any
use. A malformed delivery report is acknowledged without blocking the valid ones of its batch; an
id that cannot be ours never becomes a storage key; a queue message that can never succeed is
dropped once with a log line instead of being retried and poisoned."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accept_invitation.admin_consent import admin_consent_callback, admin_consent_help
from accept_invitation.email_link import open_invitation_link
from accept_invitation.sign_in_callback import sign_in_callback
from create_company.company_page import company_page, create_company
from create_company.company_worker import company_creation_poisoned, create_company_from_completion
from invite_user.batch_queue import create_batch_invitations, fail_poisoned_invitation_batch
from invite_user.batches_api import get_invitation_batch
from invite_user.delivery_reports import acs_delivery_reports
from invite_user.email_queue import fail_poisoned_invitation_email, send_invitation_email
from invite_user.event_grid import MAX_DETAIL
from invite_user.invitations_api import get_invitation, resend_invitation, reset_invitation, revoke_invitation
from shared.domain.models import InvitationRequest
from shared.wiring import Services
from tests.door_shapes import delivery_events, ids, json_values, queue_bodies
from tests.functions.conftest import call, request
from tests.support import invitation_body

DELIVERY_REPORT = "Microsoft.Communication.EmailDeliveryReportReceived"
QUEUE_WORKERS = [
    send_invitation_email,
    fail_poisoned_invitation_email,
    create_company_from_completion,
    company_creation_poisoned,
    create_batch_invitations,
    fail_poisoned_invitation_batch,
]
# The anonymous routes, whose query string and cookie anyone writes.
INVITEE_ROUTES = [
    (open_invitation_link, "GET", "/api/InviteUser"),
    (sign_in_callback, "GET", "/api/InviteUser/callback"),
    (admin_consent_help, "GET", "/api/AdminConsent"),
    (admin_consent_callback, "GET", "/api/AdminConsent/callback"),
    (company_page, "GET", "/api/CreateCompany"),
    (create_company, "POST", "/api/CreateCompany"),
]
STAFF_ROUTES_BY_ID = [
    (get_invitation, "GET"),
    (revoke_invitation, "POST"),
    (resend_invitation, "POST"),
    (reset_invitation, "POST"),
    (get_invitation_batch, "GET"),
]
QUERY = ["invitationId", "tenant", "state", "code", "error", "error_description", "admin_consent", "prompt"]
# Ids the stores cannot take as keys ('/', '#', '\\', '?' and controls are refused in PartitionKey).
UNKEYABLE = ["a/b", "a#b", "a\\b", "a?b", "a\tb", "", "x" * 2000]


def sent_invitation(app: Services) -> tuple[str, str]:
    """A new invitation whose e-mail the worker has sent: its id and its send (operation) id."""
    invitation_id = app.invitations.create(InvitationRequest.model_validate(invitation_body()), actor="t", idempotency_key=None)[0].id
    email = app.invitations.get(invitation_id).email
    assert email is not None
    intent = json.dumps({"invitationId": invitation_id, "sendId": email.send_id}).encode()
    send_invitation_email.build().get_user_function()(func.QueueMessage(body=intent))
    assert app.invitations.get(invitation_id).email.status == "sent"  # type: ignore[union-attr]
    return invitation_id, email.send_id


def report(operation_id: object, status: str = "Delivered", **data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "eventType": DELIVERY_REPORT, "data": {"messageId": operation_id, "status": status, **data}}


def post_events(events: object) -> func.HttpResponse:
    return call(acs_delivery_reports, request("POST", "/api/events/acs", body=json.dumps(events).encode()))


def email_status(app: Services, invitation_id: str) -> str:
    email = app.invitations.get(invitation_id).email
    assert email is not None
    return email.status


def app_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name.startswith(("invite_user.", "create_company.", "web."))]


@pytest.mark.parametrize("details", ["Recipient unknown", ["Recipient unknown"], 42], ids=["string", "list", "number"])
def test_a_malformed_report_is_acknowledged_and_the_valid_ones_of_its_batch_are_recorded(
    app: Services, caplog: pytest.LogCaptureFixture, details: object
) -> None:
    (first, first_send), (bad, bad_send), (last, last_send) = (sent_invitation(app) for _ in range(3))

    with caplog.at_level(logging.INFO):
        answer = post_events([report(first_send), report(bad_send, "Bounced", deliveryStatusDetails=details), report(last_send)])

    assert answer.status_code == 200, answer.get_body()
    assert (email_status(app, first), email_status(app, bad), email_status(app, last)) == ("delivered", "sent", "delivered")
    (logged,) = [message for message in app_messages(caplog) if "malformed" in message]
    assert "event 2 of 3" in logged and "deliveryStatusDetails" in logged
    assert "Recipient unknown" not in logged and "42" not in logged, "what is wrong, never the values"


@pytest.mark.parametrize("operation_id", UNKEYABLE)
def test_a_report_whose_message_id_cannot_be_ours_is_acknowledged(app: Services, operation_id: str) -> None:
    invitation_id, send_id = sent_invitation(app)

    answer = post_events([report(operation_id), report(send_id)])

    assert answer.status_code == 200, answer.get_body()
    assert email_status(app, invitation_id) == "delivered"


def test_a_report_whose_status_message_is_longer_than_storage_holds_is_recorded_with_its_beginning(app: Services) -> None:
    invitation_id, send_id = sent_invitation(app)
    message = "550 5.1.1 mailbox unavailable " + "x" * 300_000  # a table property holds 64 KiB

    answer = post_events([report(send_id, "Bounced", deliveryStatusDetails={"statusMessage": message})])

    assert answer.status_code == 200, answer.get_body()
    email = app.invitations.get(invitation_id).email
    assert email is not None and email.status == "bounced"
    assert email.error is not None and message.startswith(email.error[:-1]) and email.error.endswith("…")
    assert len(email.error) <= MAX_DETAIL


def test_subscription_validation_still_answers_its_code(app: Services) -> None:
    event = {"id": "1", "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {"validationCode": "abc"}}
    answer = post_events([event])
    assert answer.status_code == 200 and json.loads(answer.get_body()) == {"validationResponse": "abc"}


def queue_messages_with_unkeyable_ids() -> list[tuple[Any, dict[str, object]]]:
    ok = str(uuid.uuid4())
    messages: list[tuple[Any, dict[str, object]]] = []
    for bad in ("a/b", "a#b"):
        for worker in (send_invitation_email, fail_poisoned_invitation_email):
            messages += [(worker, {"invitationId": bad, "sendId": ok}), (worker, {"invitationId": ok, "sendId": bad})]
        for worker in (create_company_from_completion, company_creation_poisoned):
            messages += [(worker, {"invitationId": bad, "companyId": ok}), (worker, {"invitationId": ok, "companyId": bad})]
        for worker in (create_batch_invitations, fail_poisoned_invitation_batch):
            messages.append((worker, {"batchId": bad, "first": 0, "count": 1}))
    return messages


@pytest.mark.parametrize(("worker", "body"), queue_messages_with_unkeyable_ids())
def test_a_queue_message_whose_id_cannot_be_a_key_is_dropped_once_not_retried(
    app: Services, caplog: pytest.LogCaptureFixture, worker: Any, body: dict[str, object]
) -> None:
    with caplog.at_level(logging.INFO):
        worker.build().get_user_function()(func.QueueMessage(id="m-1", body=json.dumps(body).encode()))  # returns: not retried

    (dropped,) = app_messages(caplog)
    assert dropped.startswith("Dropped malformed ") and " message m-1: " in dropped
    assert "a/b" not in dropped and "a#b" not in dropped, "what is wrong, never the values"


FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(batch=st.lists(delivery_events() | json_values(), max_size=4))
def test_any_event_batch_answers_without_a_server_error(app: Services, batch: list[object]) -> None:
    assert post_events(batch).status_code < 500


@FUZZ
@given(worker=st.sampled_from(QUEUE_WORKERS), body=queue_bodies())
def test_any_queue_message_is_handled_or_dropped_never_raised(app: Services, worker: Any, body: bytes) -> None:
    worker.build().get_user_function()(func.QueueMessage(id="m-1", body=body))


texts = ids().filter(lambda value: isinstance(value, str))


@FUZZ
@given(route=st.sampled_from(INVITEE_ROUTES), params=st.dictionaries(st.sampled_from(QUERY), texts, max_size=4), cookie=texts)
def test_any_query_or_cookie_on_the_invitee_routes_answers_without_a_server_error(
    app: Services, route: tuple[Any, str, str], params: dict[str, str], cookie: str
) -> None:
    function, method, path = route
    for sent in (cookie, f"rconnect_session={cookie}"):
        assert call(function, request(method, path, params=params, headers={"cookie": sent})).status_code < 500


@FUZZ
@given(route=st.sampled_from(STAFF_ROUTES_BY_ID), invitation_id=texts)
def test_any_id_in_a_staff_route_answers_without_a_server_error(app: Services, route: tuple[Any, str], invitation_id: str) -> None:
    function, method = route
    assert call(function, request(method, "/api/invitations/x", route_params={"id": invitation_id})).status_code < 500
