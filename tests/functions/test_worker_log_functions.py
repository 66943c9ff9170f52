"""The queue workers' log records name the invitation they work on (shared/telemetry.py's
`invitation_id`, a custom dimension in Application Insights), as the HTTP routes' do."""

from __future__ import annotations

import json
import logging

import azure.functions as func
import pytest

from create_company.company_worker import company_creation_poisoned
from invite_user.delivery_reports import acs_delivery_reports
from invite_user.email_queue import send_invitation_email
from shared.domain.models import InvitationRequest
from shared.log_context import INVITATION_ID, install_log_context
from shared.wiring import Services
from tests.functions.conftest import call, request
from tests.support import invitation_body

APP_LOGGERS = ("shared.", "invite_user.", "create_company.", "accept_invitation.", "web.")


def app_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    # The app's own records: the SDKs may log from their own threads, outside any invocation's context.
    return [record for record in caplog.records if record.name.startswith(APP_LOGGERS)]


def test_the_queue_workers_records_name_the_invitation(app: Services, caplog: pytest.LogCaptureFixture) -> None:
    install_log_context()  # function_app does it at import
    invitation_id = app.invitations.create(InvitationRequest.model_validate(invitation_body()), actor="t", idempotency_key=None)[0].id
    send = app.invitations.get(invitation_id).email
    assert send is not None
    intent = json.dumps({"invitationId": invitation_id, "sendId": send.send_id}).encode()
    completion = json.dumps({"invitationId": invitation_id, "companyId": "00000000-0000-0000-0000-000000000001"}).encode()
    report = [
        {
            "id": "event-1",
            "eventType": "Microsoft.Communication.EmailDeliveryReportReceived",
            "data": {"messageId": send.send_id, "status": "Delivered"},
        }
    ]

    with caplog.at_level(logging.INFO):
        send_invitation_email.build().get_user_function()(func.QueueMessage(body=intent))
        company_creation_poisoned.build().get_user_function()(func.QueueMessage(body=completion))
        delivered = call(acs_delivery_reports, request("POST", "/api/events/acs", body=json.dumps(report).encode()))
    assert delivered.status_code == 200
    assert app.invitations.get(invitation_id).email.status == "delivered"  # type: ignore[union-attr]

    records = app_records(caplog)
    messages = [record.getMessage() for record in records]
    assert f"Invitation {invitation_id} e-mail {send.send_id}: sent" in messages  # the e-mail worker
    assert any(message.startswith(f"company-create for invitation {invitation_id} poisoned") for message in messages)
    assert [
        message for record, message in zip(records, messages, strict=False) if getattr(record, INVITATION_ID, None) != invitation_id
    ] == []


def test_outside_a_worker_records_name_no_invitation(app: Services, caplog: pytest.LogCaptureFixture) -> None:
    install_log_context()
    with caplog.at_level(logging.INFO):
        send_invitation_email.build().get_user_function()(func.QueueMessage(body=b"not an intent"))
    (dropped,) = app_records(caplog)
    assert dropped.getMessage().startswith("Dropped malformed") and not hasattr(dropped, INVITATION_ID)
    assert dropped.getMessage().endswith(": (body): Invalid JSON: expected ident at line 1 column 2")


def test_a_dropped_message_is_logged_with_what_is_wrong_but_not_its_values(app: Services, caplog: pytest.LogCaptureFixture) -> None:
    body = json.dumps({"invitationId": ["anna.keller@contoso.example"]}).encode()
    with caplog.at_level(logging.INFO):
        send_invitation_email.build().get_user_function()(func.QueueMessage(body=body))
    (dropped,) = app_records(caplog)
    assert dropped.getMessage().endswith(": invitationId: Input should be a valid string; sendId: Field required")
    assert "anna.keller" not in dropped.getMessage()
