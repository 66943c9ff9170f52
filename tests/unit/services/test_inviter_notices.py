"""INVITER_NOTIFICATIONS over the fakes, the clock moved: the inviter (when the invitation names
their address) gets one e-mail in the invitation's language when the invitee completes, when the
invitation e-mail bounces and when the invitation expires; repeats and a lost message tell them once,
and with the setting off nobody is told."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from shared.domain.models import DeliveryReport, EmailIntent, InvitationView
from shared.queue_names import INVITATION_EMAIL
from shared.routes import Links
from shared.services.events import EventPublisher
from shared.services.invitation_email import InvitationEmailService
from shared.services.invitations import InvitationService
from tests.fakes.mail import MemoryEmailSender
from tests.fakes.stores import MemoryEmailOperations
from tests.unit.services.conftest import PRODUCT, Fakes, account, create, work_accounts_over
from tests.unit.services_on_fakes import BASE_URL, REDIRECT_ALLOWLIST
from tests.unit.test_invitation_service import completion

INVITER = {"name": "Tamer Mohamed-Nour", "organisation": "GFMS", "email": "tamer@gfms.example"}


class World:
    def __init__(self, fakes: Fakes, *, notify: bool = True) -> None:
        self.fakes, self.mail = fakes, MemoryEmailSender()
        self.service = InvitationService(
            fakes.invitations,
            fakes.idempotency_keys,
            fakes.email_index,
            fakes.queues,
            Links(BASE_URL),
            fakes.clock,
            redirect_allowlist=REDIRECT_ALLOWLIST,
            events=EventPublisher(fakes.queues),
            inviter_notifications=notify,
        )
        self.emails = InvitationEmailService(
            self.service, MemoryEmailOperations(), self.mail, fakes.budget, work_accounts_over(self.service, fakes), product=PRODUCT
        )

    def sent_invitation(self, **overrides: object) -> InvitationView:
        view = create(self.service, inviter=INVITER, **overrides)
        self.work_email_queue()
        return view

    def work_email_queue(self) -> None:
        for message in self.fakes.queues.messages(INVITATION_EMAIL):
            self.emails.send(EmailIntent.model_validate(message))

    def told(self) -> list[str]:
        return [sent.message.subject for sent in self.mail.sent if sent.message.to_address == INVITER["email"]]

    def bounce(self, view: InvitationView) -> None:
        email = self.service.get(view.id).email
        assert email is not None
        self.emails.settle(DeliveryReport(operation_id=email.send_id, state="bounced", detail="550", at=self.fakes.clock()))

    def complete(self, view: InvitationView) -> None:
        user = account(view.invitee.email)
        self.service.accept(self.fakes.invitations.load(view.id), user)
        company = completion(user).model_copy(update={"company_id": str(uuid.uuid4())})
        self.service.complete(self.fakes.invitations.load(view.id), company)


@pytest.fixture
def world(fakes: Fakes) -> World:
    return World(fakes)


def test_the_inviter_is_told_once_when_the_invitee_completes_in_the_invitations_language(world: World) -> None:
    view = world.sent_invitation(language="de")
    world.complete(view)
    world.work_email_queue()
    world.work_email_queue()  # the queue delivered it again
    [subject] = world.told()
    assert subject == f"{view.invitee.display_name} ist jetzt bei {PRODUCT.product_name}"
    [notice] = [sent.message for sent in world.mail.sent if sent.message.to_address == INVITER["email"]]
    assert view.invitee.email in notice.text and view.company.name in notice.text
    assert [event.action for event in world.service.read(view.id).history][-1] == "inviter-told"


def test_the_inviter_is_told_once_when_the_email_bounces_even_when_reported_twice(world: World) -> None:
    view = world.sent_invitation()
    world.bounce(view)
    world.bounce(view)
    world.work_email_queue()
    assert world.told() == [f"Your invitation to {view.invitee.display_name} could not be delivered"]


def test_the_inviter_is_told_once_when_the_invitation_expires(world: World) -> None:
    view = world.sent_invitation()
    world.fakes.clock.now = view.expires_at + timedelta(seconds=1)
    [lapsed] = world.fakes.invitations.sweepable(world.fakes.clock(), world.fakes.clock()).expired
    world.service.report_expiry(lapsed)
    world.service.report_expiry(lapsed)  # the next sweep, from the same scan
    world.work_email_queue()
    assert world.told() == [f"Your invitation to {view.invitee.display_name} has expired"]


def test_a_notice_whose_message_was_lost_is_queued_again_by_the_sweeper_and_sent_once(world: World) -> None:
    view = world.sent_invitation()
    world.fakes.queues.go_down()
    world.bounce(view)
    world.fakes.queues.come_back()
    [outstanding] = world.fakes.invitations.sweepable(world.fakes.clock() + timedelta(minutes=5), world.fakes.clock()).outstanding
    world.service.enqueue_notices(outstanding)  # the sweeper's re-drive
    world.work_email_queue()
    world.service.enqueue_notices(outstanding)  # a sweep from a stale scan
    world.work_email_queue()
    assert len(world.told()) == 1
    assert world.fakes.invitations.sweepable(world.fakes.clock() + timedelta(minutes=5), world.fakes.clock()).outstanding == []


def test_nobody_is_told_with_the_setting_off_or_without_the_inviters_address(fakes: Fakes) -> None:
    off = World(fakes, notify=False)
    view = off.sent_invitation()
    off.bounce(view)
    off.work_email_queue()
    assert off.told() == []
    on = World(fakes)
    anonymous = create(on.service, inviter={**INVITER, "email": None})
    on.work_email_queue()
    on.bounce(anonymous)
    on.work_email_queue()
    assert on.told() == [] and on.service.get(anonymous.id).inviter_notices == []
