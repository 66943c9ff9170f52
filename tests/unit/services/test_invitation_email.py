"""InvitationEmailService over the fakes: the queued send rendered and handed to the sender once, its
outcomes recorded (sent, a passing failure retried then poisoned, a refusal, a closed invitation),
and ACS's delivery reports settling it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.domain.models import DeliveryReport, EmailIntent, InvitationView
from shared.queue_names import INVITATION_EMAIL
from shared.services.invitation_email import EmailNotSent, InvitationEmailService
from shared.services.invitations import InvitationService
from tests.fakes.mail import MemoryEmailSender
from tests.fakes.stores import MemoryEmailOperations
from tests.unit.services.conftest import PRODUCT, Fakes, create

MESSAGE = "Welcome aboard!\nYour machines are ready."


@pytest.fixture
def invited(invitation_service: InvitationService) -> InvitationView:
    return create(invitation_service, message=MESSAGE, language="fr")


def intent_of(fakes: Fakes, invitation_id: str) -> EmailIntent:
    """The e-mail intent the create (or a resend) put on the queue last."""
    intents = [EmailIntent.model_validate(m) for m in fakes.queues.messages(INVITATION_EMAIL) if m["invitationId"] == invitation_id]
    return intents[-1]


def email_actions(invitation_service: InvitationService, invitation_id: str) -> list[str]:
    return [event.action for event in invitation_service.read(invitation_id).history if event.action.startswith("email-")]


def test_the_queued_send_is_rendered_for_the_invitee_and_handed_over_under_its_send_id(
    emails: InvitationEmailService,
    mail: MemoryEmailSender,
    operations: MemoryEmailOperations,
    invitation_service: InvitationService,
    fakes: Fakes,
    invited: InvitationView,
) -> None:
    intent = intent_of(fakes, invited.id)
    emails.send(intent)
    [sent] = mail.sent
    assert sent.operation_id == intent.send_id
    message = sent.message
    assert (message.to_address, message.to_name) == (invited.invitee.email, invited.invitee.display_name)
    assert message.subject == f"{invited.inviter.name} de {invited.inviter.organisation} vous invite sur {PRODUCT.product_name}"
    for body in (message.html, message.text):
        assert invited.invite_redeem_url in body
        assert invitation_service.links.admin_consent_help(invited.id) in body
        assert PRODUCT.documentation_url in body
    assert "Welcome aboard!" in message.text and "Your machines are ready." in message.text
    assert operations.invitation_of(intent.send_id) == invited.id, "remembered for ACS's delivery reports"
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.operation_id) == ("sent", intent.send_id)
    assert email_actions(invitation_service, invited.id) == ["email-sent"]


def test_a_repeated_or_stale_message_sends_nothing_more(
    emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    first = intent_of(fakes, invited.id)
    emails.send(first)
    emails.send(first)  # the queue delivered it again
    assert mail.attempts == 1
    invitation_service.resend(invited.id, "staff")
    emails.send(first)  # stale: a resend recorded another send
    second = intent_of(fakes, invited.id)
    assert second.send_id != first.send_id
    emails.send(second)
    assert [sent.operation_id for sent in mail.sent] == [first.send_id, second.send_id]


def test_an_unknown_invitation_sends_nothing(emails: InvitationEmailService, mail: MemoryEmailSender) -> None:
    emails.send(EmailIntent(invitation_id=str(uuid.uuid4()), send_id=str(uuid.uuid4())))
    assert mail.attempts == 0


def test_a_send_for_a_revoked_invitation_fails_unsent(
    emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    invitation_service.revoke(invited.id, "staff")
    emails.send(intent_of(fakes, invited.id))
    assert mail.attempts == 0
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("failed", "Not sent: the invitation is revoked")


def test_a_passing_failure_is_retried_and_the_poison_handler_fails_the_send_with_it(
    emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    intent = intent_of(fakes, invited.id)
    mail.fail_next("ACS answered 503 Service Unavailable", times=2)
    for _ in range(2):
        with pytest.raises(EmailNotSent) as not_sent:
            emails.send(intent)
        assert not_sent.value.retryable, "the queue delivers the message again"
        assert (not_sent.value.detail, not_sent.value.code) == ("ACS answered 503 Service Unavailable", "email-not-sent")
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("queued", "ACS answered 503 Service Unavailable")
    assert email_actions(invitation_service, invited.id) == [], "no audit event while it is being tried"
    emails.fail_poisoned(intent)
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("failed", "ACS answered 503 Service Unavailable")
    assert email_actions(invitation_service, invited.id) == ["email-failed"] and mail.sent == []


def test_a_send_poisoned_before_any_try_met_an_error_says_it_was_not_handed_over(
    emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    emails.fail_poisoned(intent_of(fakes, invited.id))
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("failed", "The e-mail could not be handed over for delivery")


def test_a_failure_that_would_repeat_fails_the_send_at_once(
    emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    mail.fail_next("ACS answered 401 Unauthorized", retryable=False)
    emails.send(intent_of(fakes, invited.id))
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("failed", "ACS answered 401 Unauthorized")


def test_the_poison_handler_after_a_send_went_out_changes_nothing(
    emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    intent = intent_of(fakes, invited.id)
    emails.send(intent)
    emails.fail_poisoned(intent)
    assert invitation_service.get(invited.id).email.status == "sent"  # type: ignore[union-attr]


# -- delivery reports ------------------------------------------------------------------------------------


def test_a_delivery_report_settles_the_send_once(
    emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    intent = intent_of(fakes, invited.id)
    emails.send(intent)
    for _ in range(2):  # Event Grid delivers at least once
        emails.settle(DeliveryReport(operation_id=intent.send_id, state="delivered"))
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("delivered", None)
    assert email_actions(invitation_service, invited.id) == ["email-sent", "email-delivered"]


def test_a_report_that_overtook_the_workers_record_settles_the_send(
    emails: InvitationEmailService,
    operations: MemoryEmailOperations,
    invitation_service: InvitationService,
    fakes: Fakes,
    invited: InvitationView,
) -> None:
    # The worker handed the message over, then died before recording `sent`: ACS's report comes first.
    intent = intent_of(fakes, invited.id)
    operations.remember(intent.send_id, invited.id)
    emails.settle(DeliveryReport(operation_id=intent.send_id, state="delivered"))
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.operation_id) == ("delivered", intent.send_id)


def test_a_bounce_is_recorded_with_acss_detail_or_a_reason(
    emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    intent = intent_of(fakes, invited.id)
    emails.send(intent)
    emails.settle(DeliveryReport(operation_id=intent.send_id, state="bounced", detail="550 5.1.1 mailbox unknown"))
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error) == ("bounced", "550 5.1.1 mailbox unknown")
    other = create(invitation_service)
    other_intent = intent_of(fakes, other.id)
    emails.send(other_intent)
    emails.settle(DeliveryReport(operation_id=other_intent.send_id, state="suppressed"))
    assert invitation_service.get(other.id).email.error == "ACS reported the e-mail suppressed"  # type: ignore[union-attr]


def test_a_report_for_an_unknown_operation_changes_nothing(
    emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    emails.send(intent_of(fakes, invited.id))
    emails.settle(DeliveryReport(operation_id=str(uuid.uuid4()), state="bounced"))
    assert invitation_service.get(invited.id).email.status == "sent"  # type: ignore[union-attr]


def test_a_later_bounce_replaces_delivered_and_an_older_report_does_not(
    emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes, invited: InvitationView
) -> None:
    intent = intent_of(fakes, invited.id)
    emails.send(intent)
    delivered_at = fakes.clock()
    bounced_at = delivered_at + timedelta(minutes=2)
    emails.settle(DeliveryReport(operation_id=intent.send_id, state="delivered", at=delivered_at))
    emails.settle(DeliveryReport(operation_id=intent.send_id, state="bounced", detail="550 mailbox gone", at=bounced_at))
    emails.settle(DeliveryReport(operation_id=intent.send_id, state="delivered", at=delivered_at))  # Event Grid redelivers the older one
    email = invitation_service.get(invited.id).email
    assert email is not None and (email.status, email.error, email.reported_at) == ("bounced", "550 mailbox gone", bounced_at)
    assert email_actions(invitation_service, invited.id) == ["email-sent", "email-delivered", "email-bounced"]
