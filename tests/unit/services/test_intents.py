"""IntentSweeper over the fakes, wired as the composition root wires it: outstanding intents older
than the threshold are re-driven (the e-mail, the company, the events), expiries are reported once,
and batches are handed the same cutoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.domain.events import EVENT_TYPE_PREFIX
from shared.domain.models import CompanyForm, EmailIntent, InvitationStatus
from shared.queue_names import COMPANY_CREATE, INVITATION_EMAIL, INVITATION_EVENTS
from shared.services.companies import CompanyService
from shared.services.intents import IntentSweeper
from shared.services.invitation_email import InvitationEmailService
from shared.services.invitations import InvitationService
from shared.wiring import redrivers
from tests.support import invitation_body
from tests.unit.services.conftest import Fakes, account, create

AFTER_SECONDS = 60


@pytest.fixture
def batch_cutoffs() -> list[datetime]:
    return []


@pytest.fixture
def sweeper(fakes: Fakes, invitation_service: InvitationService, companies: CompanyService, batch_cutoffs: list[datetime]) -> IntentSweeper:
    def redrive_batches(cutoff: datetime) -> int:
        batch_cutoffs.append(cutoff)
        return 2  # as if two batches were handed over

    return IntentSweeper(
        fakes.invitations,
        fakes.clock,
        after_seconds=AFTER_SECONDS,
        enqueuers=redrivers(invitation_service, companies),
        report_expiry=invitation_service.report_expiry,
        redrive_batches=redrive_batches,
    )


def event_types(fakes: Fakes) -> list[str]:
    return [message["type"].removeprefix(EVENT_TYPE_PREFIX) for message in fakes.queues.messages(INVITATION_EVENTS)]


def test_an_email_and_events_the_queue_missed_are_re_driven_once_old_enough(
    sweeper: IntentSweeper, fakes: Fakes, invitation_service: InvitationService, batch_cutoffs: list[datetime]
) -> None:
    fakes.queues.go_down()
    view = create(invitation_service)
    fakes.queues.come_back()
    assert sweeper.sweep() == 2 and fakes.queues.messages(INVITATION_EMAIL) == [], "younger than the threshold: only the batches"
    fakes.clock.advance(seconds=AFTER_SECONDS + 1)
    assert sweeper.sweep() == 1 + 2
    assert [message["invitationId"] for message in fakes.queues.messages(INVITATION_EMAIL)] == [view.id]
    assert event_types(fakes) == ["created"], "the pending event published"
    assert invitation_service.get(view.id).pending_events == [], "and recorded as published"
    assert batch_cutoffs[-1] == fakes.clock() - timedelta(seconds=AFTER_SECONDS), "batches outstanding as long"


def test_a_pending_completion_whose_request_was_lost_is_requested_again(
    sweeper: IntentSweeper, fakes: Fakes, invitation_service: InvitationService, companies: CompanyService
) -> None:
    view = create(invitation_service)
    anna = account(view.invitee.email)
    invitation_service.accept(invitation_service.load(view.id), anna)
    access = companies.access(view.id, anna)
    assert access.loaded is not None
    fakes.queues.go_down(COMPANY_CREATE)
    companies.complete(access.loaded, CompanyForm.model_validate({**invitation_body()["company"], "contactName": "Anna"}), anna)
    fakes.queues.come_back()
    fakes.clock.advance(seconds=AFTER_SECONDS + 1)
    sweeper.sweep()
    assert [message["invitationId"] for message in fakes.queues.messages(COMPANY_CREATE)] == [view.id]


def test_once_the_email_went_out_and_its_events_are_recorded_nothing_is_re_driven(
    sweeper: IntentSweeper, fakes: Fakes, invitation_service: InvitationService, emails: InvitationEmailService
) -> None:
    view = create(invitation_service)
    emails.send(EmailIntent.model_validate(fakes.queues.messages(INVITATION_EMAIL)[0]))  # sent, its events published
    fakes.clock.advance(seconds=AFTER_SECONDS + 1)
    # The e-mail-sent event stays pending until a later write records it published: the sweeper's.
    assert sweeper.sweep() == 1 + 2
    assert sweeper.sweep() == 2, "then only the batches"
    assert [message["invitationId"] for message in fakes.queues.messages(INVITATION_EMAIL)] == [view.id], "the e-mail went out"
    assert event_types(fakes) == ["created", "email.sent", "email.sent"], "at least once"


def test_an_expiry_is_reported_once(sweeper: IntentSweeper, fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service, ttlDays=1)
    fakes.clock.advance(days=2)
    for _ in range(3):
        sweeper.sweep()
    assert [event.action for event in invitation_service.read(view.id).history].count("expired") == 1
    assert invitation_service.read(view.id).status == InvitationStatus.EXPIRED
    # Published after its write, and once more by the sweep that records it published (at least once).
    assert event_types(fakes).count("expired") == 2 and invitation_service.get(view.id).pending_events == []


def test_a_send_put_off_for_the_quota_is_not_re_driven_before_it_is_due(
    sweeper: IntentSweeper, fakes: Fakes, invitation_service: InvitationService, emails: InvitationEmailService
) -> None:
    for _ in range(30):
        fakes.budget.reserve(fakes.clock(), bulk=False)  # this minute's quota is taken
    view = create(invitation_service)
    emails.send(EmailIntent.model_validate(fakes.queues.messages(INVITATION_EMAIL)[0]))  # put off to the next minute
    assert event_types(fakes) == ["created"], "the put-off write published the pending event"
    email = invitation_service.get(view.id).email
    assert email is not None and email.next_attempt_at is not None
    fakes.clock.advance(seconds=AFTER_SECONDS + 1)
    if email.next_attempt_at > fakes.clock():
        sweeper.sweep()
        assert len(fakes.queues.messages(INVITATION_EMAIL)) == 2, "its message waits on the queue: none added"
    # Had its message been lost, it is outstanding again once due (plus the threshold), and queued again.
    fakes.clock.now = email.next_attempt_at + timedelta(seconds=AFTER_SECONDS + 1)
    sweeper.sweep()
    assert len(fakes.queues.messages(INVITATION_EMAIL)) == 3
