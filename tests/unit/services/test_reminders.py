"""The reminder over the fakes, the clock moved: the sweeper finds an invitation whose e-mail was
delivered once its expiry is REMINDER_DAYS_BEFORE_EXPIRY away, records the one reminder with one
guarded write, and the e-mail worker sends it in the invitation's language with its link and expiry
date. None after a revoke, a completion or the expiry, none for a bounced address, none when staff
opted out, and one only when two sweeps race or the queue was down."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.domain.models import DeliveryReport, DeliveryState, EmailIntent, InvitationView
from shared.presentation.i18n import format_date
from shared.queue_names import INVITATION_EMAIL
from shared.routes import Links
from shared.services.companies import CompanyService
from shared.services.intents import IntentSweeper
from shared.services.invitation_email import InvitationEmailService
from shared.services.invitations import InvitationService
from shared.wiring import redrivers
from tests.fakes.mail import MemoryEmailSender
from tests.fakes.stores import MemoryCompanies, MemoryEmailOperations
from tests.unit.services.conftest import PRODUCT, Fakes, account, create, work_accounts_over
from tests.unit.test_invitation_service import RacingInvitations, completion

DAYS_BEFORE = 2
AFTER_SECONDS = 60


def sweeper(fakes: Fakes, service: InvitationService) -> IntentSweeper:
    """The sweeper as the composition root wires it, reminders on."""
    companies = CompanyService(service, MemoryCompanies(), fakes.queues, Links("https://invite.example"), fakes.clock)
    return IntentSweeper(
        fakes.invitations,
        fakes.clock,
        after_seconds=AFTER_SECONDS,
        enqueuers=redrivers(service, companies),
        report_expiry=service.report_expiry,
        redrive_batches=lambda cutoff: 0,
        remind=service.remind,
        remind_days=DAYS_BEFORE,
    )


class World:
    """The invitation service, its e-mail worker and the sweeper over one set of fakes."""

    def __init__(self, fakes: Fakes) -> None:
        self.fakes, self.mail = fakes, MemoryEmailSender()
        self.service = fakes.invitation_service()
        self.emails = InvitationEmailService(
            self.service, MemoryEmailOperations(), self.mail, fakes.budget, work_accounts_over(self.service, fakes), product=PRODUCT
        )
        self.sweeper = sweeper(fakes, self.service)

    def work_email_queue(self) -> None:
        """The e-mail worker takes every message on the queue (a repeated one is a no-op)."""
        for message in self.fakes.queues.messages(INVITATION_EMAIL):
            self.emails.send(EmailIntent.model_validate(message))

    def report(self, invitation_id: str, state: DeliveryState = "delivered") -> None:
        """ACS's delivery report on the invitation's latest send."""
        email = self.service.get(invitation_id).email
        assert email is not None and email.status == "sent"
        self.emails.settle(DeliveryReport(operation_id=email.send_id, state=state, at=self.fakes.clock()))

    def delivered(self, state: DeliveryState = "delivered", **overrides: object) -> InvitationView:
        """An invitation whose e-mail was sent and reported delivered (or `state`)."""
        view = create(self.service, **overrides)
        self.work_email_queue()
        self.report(view.id, state)
        return view

    def reminder_day(self, view: InvitationView) -> None:
        self.fakes.clock.now = view.expires_at - timedelta(days=DAYS_BEFORE)

    def reminders(self, invitation_id: str) -> list[str]:
        """The send ids of the reminders the invitation's trail records."""
        return [event.send_id or "" for event in self.service.read(invitation_id).history if event.action == "reminder-queued"]

    def reminders_sent(self) -> list[str]:
        return [sent.message.subject for sent in self.mail.sent if sent.message.subject.startswith(("Reminder", "Rappel"))]


@pytest.fixture
def world(fakes: Fakes) -> World:
    return World(fakes)


def test_exactly_one_reminder_goes_out_in_the_invitations_language_with_its_link_and_expiry(world: World) -> None:
    view = world.delivered(language="fr")
    world.fakes.clock.now = view.expires_at - timedelta(days=DAYS_BEFORE, seconds=1)
    world.sweeper.sweep()
    assert world.reminders(view.id) == [], "not before its day"
    world.reminder_day(view)
    for _ in range(3):  # every sweep of the day, and the next days
        world.sweeper.sweep()
        world.work_email_queue()
        world.fakes.clock.advance(hours=12)
    [send_id] = world.reminders(view.id)
    [reminder] = [sent for sent in world.mail.sent if sent.operation_id == send_id]
    expires_on = format_date(view.expires_at, "fr")
    # A header is one line of plain spaces (OutgoingEmail): French's non-breaking space becomes one.
    assert reminder.message.subject == f"Rappel : votre invitation à {PRODUCT.product_name} expire le {expires_on}"
    for body in (reminder.message.html, reminder.message.text):
        assert view.invite_redeem_url in body and expires_on in body
    assert "vous attend toujours" in reminder.message.text
    email = world.service.get(view.id).email
    assert email is not None and (email.kind, email.status, email.attempt) == ("reminder", "sent", 2)
    actions = [event.action for event in world.service.read(view.id).history]
    assert actions[-2:] == ["reminder-queued", "email-sent"]
    assert len(world.mail.sent) == 2, "the invitation and its one reminder"


@pytest.mark.parametrize("close", ["revoke", "complete", "sign-in"])
def test_no_reminder_after_a_revoke_a_completion_or_a_sign_in(world: World, close: str) -> None:
    view = world.delivered()
    if close == "revoke":
        world.service.revoke(view.id, "staff")
    else:
        user = account(view.invitee.email)
        world.service.accept(world.fakes.invitations.load(view.id), user)
        if close == "complete":
            company = completion(user).model_copy(update={"company_id": str(uuid.uuid4())})
            world.service.complete(world.fakes.invitations.load(view.id), company)
    world.reminder_day(view)
    world.sweeper.sweep()
    world.work_email_queue()
    assert world.reminders(view.id) == [] and len(world.mail.sent) == 1


def test_no_reminder_after_the_expiry(world: World) -> None:
    view = world.delivered()
    world.fakes.clock.now = view.expires_at + timedelta(seconds=1)  # the sweeper did not run in the reminder's days
    world.sweeper.sweep()
    assert world.reminders(view.id) == [] and [event.action for event in world.service.read(view.id).history][-1] == "expired"


@pytest.mark.parametrize("state", ["bounced", "suppressed", "failed"])
def test_no_reminder_for_an_address_the_email_did_not_reach(world: World, state: DeliveryState) -> None:
    view = world.delivered(state)
    world.reminder_day(view)
    world.sweeper.sweep()
    assert world.reminders(view.id) == []


def test_no_reminder_when_staff_opted_out_and_staff_can_still_resend(world: World) -> None:
    view = world.delivered(reminders=False)
    assert view.reminders is False
    world.reminder_day(view)
    world.sweeper.sweep()
    assert world.reminders(view.id) == []
    world.service.resend(view.id, "staff")
    world.work_email_queue()
    assert len(world.mail.sent) == 2 and world.reminders_sent() == []


def test_a_reminder_whose_invitation_was_signed_in_before_it_left_is_not_sent(world: World) -> None:
    view = world.delivered()
    world.reminder_day(view)
    world.sweeper.sweep()  # recorded and queued
    world.service.accept(world.fakes.invitations.load(view.id), account(view.invitee.email))
    world.work_email_queue()
    email = world.service.get(view.id).email
    assert email is not None and (email.kind, email.status) == ("reminder", "failed") and world.reminders_sent() == []


def test_two_sweeps_racing_record_and_send_one_reminder() -> None:
    store = RacingInvitations()
    world = World(Fakes(invitations=store))
    view = world.delivered()
    world.fakes.clock.advance(seconds=AFTER_SECONDS + 1)
    world.sweeper.sweep()  # publishes the delivery's event: nothing is outstanding, the next write is the reminder's
    world.reminder_day(view)
    assert world.fakes.invitations.sweepable(world.fakes.clock(), world.fakes.clock()).outstanding == []
    rival = sweeper(world.fakes, world.fakes.invitation_service())
    store.rivals.append(rival.sweep)  # the other instance's sweep writes first; this one's write loses
    world.sweeper.sweep()
    assert store.rivals == [], "the race took place"
    world.work_email_queue()
    assert len(world.reminders(view.id)) == 1
    assert len(world.reminders_sent()) == 1
    assert [m["invitationId"] for m in world.fakes.queues.messages(INVITATION_EMAIL)] == [view.id, view.id], "the invitation, one reminder"


def test_a_reminder_recorded_while_the_queue_was_down_is_sent_once_by_a_later_sweep(world: World) -> None:
    view = world.delivered()
    world.reminder_day(view)
    world.fakes.queues.go_down()
    world.sweeper.sweep()  # the decision is written; its message is lost
    world.fakes.queues.come_back()
    assert len(world.reminders(view.id)) == 1 and world.reminders_sent() == []
    world.fakes.clock.advance(seconds=AFTER_SECONDS + 1)
    world.sweeper.sweep()  # re-drives the queued send, decides nothing new
    world.work_email_queue()
    world.sweeper.sweep()
    assert len(world.reminders(view.id)) == 1 and len(world.reminders_sent()) == 1
