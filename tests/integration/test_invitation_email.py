"""The e-mail after its intent, in-process against Azurite: the queue worker, the poison handler,
delivery reports and the sweeper, each idempotent (the outbox stands in for ACS)."""

from __future__ import annotations

import base64
import json
import uuid
from contextlib import suppress
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from shared.domain.mail import OutgoingEmail, SendResult
from shared.domain.models import DeliveryReport, EmailIntent, InvitationRequest
from shared.presentation.i18n import format_date
from shared.queue_names import INVITATION_EMAIL
from shared.services.invitation_email import EmailNotSent
from shared.settings import Settings
from shared.wiring import Services, build
from tests.azurite import Azurite
from tests.integration.conftest import Clock
from tests.support import invitation_body


class Refusing:
    """A sender that fails every send the way an ACS that is down does."""

    def __init__(self) -> None:
        self.tries = 0

    def send(self, message: OutgoingEmail, operation_id: str) -> SendResult:
        self.tries += 1
        return SendResult(status="failed", error="ACS answered 503 Service Unavailable", retryable=True)


def created(app: Services) -> EmailIntent:
    view, _ = app.invitations.create(InvitationRequest.model_validate(invitation_body()), actor="staff", idempotency_key=None)
    app.invitations.finish_handovers()  # its message is on the queue
    assert view.email is not None
    return EmailIntent(invitation_id=view.id, send_id=view.email.send_id)


def queued_intents(azurite: Azurite) -> list[dict[str, str]]:
    queue = QueueClient.from_connection_string(azurite.connection_string, INVITATION_EMAIL)
    # Receiving (not peeking, which stops at 32) hides them for a minute: nothing else reads this queue in-process.
    return [json.loads(base64.b64decode(message.content)) for message in queue.receive_messages(visibility_timeout=60)]


def test_create_puts_the_intent_on_the_email_queue(app: Services, azurite: Azurite) -> None:
    queue = QueueClient.from_connection_string(azurite.connection_string, INVITATION_EMAIL)
    with suppress(ResourceExistsError):
        queue.create_queue()
    queue.clear_messages()  # nothing consumes it in-process: start from an empty queue
    intent = created(app)
    assert {"invitationId": intent.invitation_id, "sendId": intent.send_id} in queued_intents(azurite)


def test_a_repeated_or_stale_message_sends_nothing_more(app: Services, outbox: Path) -> None:
    intent = created(app)
    app.emails.send(intent)
    app.emails.send(intent)  # redelivered
    assert len(list(outbox.glob("*.eml"))) == 1
    email = app.invitations.get(intent.invitation_id).email
    assert email is not None and (email.status, email.operation_id) == ("sent", intent.send_id)

    resent = app.invitations.resend(intent.invitation_id, "staff").email
    assert resent is not None and resent.attempt == 2
    app.emails.send(intent)  # the first send's message, late: not the current send any more
    assert len(list(outbox.glob("*.eml"))) == 1
    app.emails.send(EmailIntent(invitation_id=intent.invitation_id, send_id=resent.send_id))
    assert len(list(outbox.glob("*.eml"))) == 2


def test_a_passing_failure_is_retried_and_the_poison_handler_fails_the_send_with_it(
    settings: Settings, clock: Clock, app: Services
) -> None:
    refusing = Refusing()
    failing = build(settings, clock=clock, sender=refusing)
    intent = created(failing)
    for _ in range(3):
        try:
            failing.emails.send(intent)
        except EmailNotSent as error:
            assert error.retryable
        else:
            raise AssertionError("a retryable failure must reach the queue as an error")
    email = failing.invitations.get(intent.invitation_id).email
    assert email is not None and (email.status, email.error) == ("queued", "ACS answered 503 Service Unavailable")

    failing.emails.fail_poisoned(intent)
    failing.emails.fail_poisoned(intent)  # the host may deliver a poison message twice
    view = failing.invitations.read(intent.invitation_id)
    assert view.email is not None and (view.email.status, view.email.error) == ("failed", "ACS answered 503 Service Unavailable")
    assert [event.action for event in view.history] == ["created", "email-failed"]
    assert refusing.tries == 3


def test_a_send_for_a_revoked_invitation_is_not_sent(app: Services, outbox: Path) -> None:
    intent = created(app)
    app.invitations.revoke(intent.invitation_id, "staff")
    app.emails.send(intent)
    email = app.invitations.get(intent.invitation_id).email
    assert email is not None and (email.status, email.error) == ("failed", "Not sent: the invitation is revoked")
    assert list(outbox.glob("*.eml")) == []


def test_delivery_reports_settle_the_send_once(app: Services) -> None:
    intent = created(app)
    app.emails.send(intent)
    report = DeliveryReport(operation_id=intent.send_id, state="bounced", detail="550 mailbox unavailable")
    app.emails.settle(report)
    app.emails.settle(report)
    app.emails.settle(DeliveryReport(operation_id=intent.send_id, state="delivered"))  # final states stay final
    view = app.invitations.read(intent.invitation_id)
    assert view.email is not None and (view.email.status, view.email.error) == ("bounced", "550 mailbox unavailable")
    assert [event.action for event in view.history] == ["created", "email-sent", "email-bounced"]
    app.emails.settle(DeliveryReport(operation_id=str(uuid.uuid4()), state="delivered"))  # unknown: ignored


def test_the_sweeper_re_enqueues_an_email_queued_longer_than_the_threshold(app: Services, clock: Clock, azurite: Azurite) -> None:
    waiting = created(app)
    outstanding, _, _ = app.sweeper.store.sweepable(clock.now - timedelta(minutes=2), clock.now)
    assert waiting.invitation_id not in {invitation.id for invitation in outstanding}
    queue = QueueClient.from_connection_string(azurite.connection_string, INVITATION_EMAIL)
    queue.clear_messages()  # as if the message had been lost
    clock.now += timedelta(seconds=app.settings.sweep_after_seconds + 1)
    assert app.sweeper.sweep() >= 1
    assert {"invitationId": waiting.invitation_id, "sendId": waiting.send_id} in queued_intents(azurite)


def test_the_reminder_lands_in_the_outbox_once_with_the_link_and_the_expiry_date(app: Services, clock: Clock, outbox: Path) -> None:
    view, _ = app.invitations.create(InvitationRequest.model_validate(invitation_body(language="de")), actor="staff", idempotency_key=None)
    assert view.email is not None
    app.emails.send(EmailIntent(invitation_id=view.id, send_id=view.email.send_id))
    app.emails.settle(DeliveryReport(operation_id=view.email.send_id, state="delivered", at=clock.now))
    clock.now = view.expires_at - timedelta(days=app.settings.reminder_days_before_expiry)
    app.sweeper.sweep()  # finds it by its ReminderExpiry column
    app.sweeper.sweep()
    reminder = app.invitations.get(view.id).email
    assert reminder is not None and reminder.kind == "reminder"
    app.emails.send(EmailIntent(invitation_id=view.id, send_id=reminder.send_id))
    messages = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(outbox.glob("*.eml"))]
    [sent] = [message for message in messages if str(message["Subject"]).startswith("Erinnerung")]
    expires_on = format_date(view.expires_at, "de")
    assert expires_on in str(sent["Subject"])
    for part in ("plain", "html"):
        body = sent.get_body((part,)).get_content()  # type: ignore[union-attr]
        assert view.invite_redeem_url in body and expires_on in body
    history = [event.action for event in app.invitations.read(view.id).history]
    assert history.count("reminder-queued") == 1 and history[-1] == "email-sent"
