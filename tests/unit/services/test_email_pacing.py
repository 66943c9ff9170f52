"""Sending paced to ACS's quota, over the fakes (QUOTA: 30 a minute, 100 an hour, 20 % reserved to
single invitations): a send whose place in the quota is later, or that ACS throttles, is put off
(nextAttemptAt, re-queued for then) and never counted as a failed try; batch rows take their places
when their invitations are created, and a single invitation created meanwhile is not stuck behind them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from shared.domain.batches import BatchChunk
from shared.domain.models import EmailIntent
from shared.queue_names import INVITATION_BATCH, INVITATION_EMAIL, INVITATION_EVENTS
from shared.services.batches import BatchService
from shared.services.invitation_email import InvitationEmailService
from shared.services.invitations import InvitationService
from tests.fakes.mail import MemoryEmailSender
from tests.support import invitation_body, unique_email
from tests.unit.services.conftest import Fakes, create

BATCH = "2b9c7a41-5d3e-4f60-8a1b-9c0d1e2f3a4b"


def due_intents(fakes: Fakes) -> list[EmailIntent]:
    """The e-mail messages a receiver would get now (a test takes each once: it consumes them)."""
    return [EmailIntent.model_validate(message) for message in fakes.queues.visible(INVITATION_EMAIL)]


def run_batch(batches: BatchService, fakes: Fakes, rows: int) -> None:
    batches.submit(
        BATCH,
        [invitation_body(invitee={"email": unique_email(), "displayName": "A"}) for _ in range(rows)],
        handling="strict",
        actor="staff",
        request_hash="h",
    )
    for message in fakes.queues.messages(INVITATION_BATCH):
        batches.work(BatchChunk.model_validate(message))
    batches._invitations.finish_handovers()


def test_a_send_without_room_in_the_quota_is_put_off_and_sent_when_its_place_comes(
    emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes
) -> None:
    for _ in range(30):
        fakes.budget.reserve(fakes.clock(), bulk=False)  # this minute's 30 are taken
    view = create(invitation_service)
    [intent] = due_intents(fakes)
    emails.send(intent)
    assert mail.attempts == 0
    email = invitation_service.get(view.id).email
    assert email is not None and email.status == "queued" and email.next_attempt_at is not None
    assert email.next_attempt_at - fakes.clock() <= timedelta(minutes=1)
    history = [event.action for event in invitation_service.read(view.id).history]
    assert history == ["created"], "waiting for the quota is not an event, nor a failed try"
    assert len(fakes.queues.messages(INVITATION_EMAIL)) == 2 and len(fakes.queues.visible(INVITATION_EMAIL)) == 1, "re-queued for then"
    fakes.clock.now = email.next_attempt_at
    emails.send(intent)  # the re-queued message, once visible
    assert [sent.operation_id for sent in mail.sent] == [intent.send_id]
    sent = invitation_service.get(view.id).email
    assert sent is not None and (sent.status, sent.next_attempt_at) == ("sent", None)


def test_a_throttled_send_waits_as_acs_asked_however_often_and_never_fails(
    emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes
) -> None:
    view = create(invitation_service)
    [intent] = due_intents(fakes)
    mail.throttle_next(retry_after=37, times=10)  # more than the queue's maxDequeueCount
    for _ in range(10):
        emails.send(intent)  # never raises: the host would count that as a failed delivery
        email = invitation_service.get(view.id).email
        assert email is not None and email.status == "queued" and email.error == "ACS answered 429 Too Many Requests"
        assert email.next_attempt_at == fakes.clock() + timedelta(seconds=37)
        fakes.clock.now = email.next_attempt_at
    emails.send(intent)
    email = invitation_service.get(view.id).email
    assert email is not None and email.status == "sent" and mail.attempts == 11
    assert [message["invitationId"] for message in fakes.queues.messages(INVITATION_EMAIL)] == [view.id] * 11
    assert [e.action for e in invitation_service.read(view.id).history if e.action.startswith("email-")] == ["email-sent"]


def test_batch_rows_take_their_places_up_front_and_the_batch_shows_when_it_completes(
    batches: BatchService, emails: InvitationEmailService, mail: MemoryEmailSender, fakes: Fakes
) -> None:
    start = fakes.clock()
    run_batch(batches, fakes, 60)
    view = batches.view(BATCH)
    assert view.created == 60
    # 24 a minute (30 less the reserve), one every 2 s: 60 rows need three minute windows.
    assert view.expected_completion_at == start + timedelta(minutes=2, seconds=22)
    assert len(due_intents(fakes)) == 1, "only the first row's e-mail is due now; the others are queued for their places"
    sent_per_minute: Counter[int] = Counter()
    while len(mail.sent) < 60:
        before = len(mail.sent)
        for intent in due_intents(fakes):
            emails.send(intent)
        sent_per_minute[int((fakes.clock() - start) / timedelta(minutes=1))] += len(mail.sent) - before
        fakes.clock.advance(seconds=1)
    assert sent_per_minute == {0: 24, 1: 24, 2: 12}
    assert mail.attempts == 60, "each e-mail handed over once, at its place: none put off again"
    assert fakes.clock() - start <= timedelta(minutes=2, seconds=23)


def test_a_batch_beyond_the_hours_quota_goes_on_in_the_next_hour(batches: BatchService, fakes: Fakes) -> None:
    start = fakes.clock()
    run_batch(batches, fakes, 100)
    view = batches.view(BATCH)
    # 80 an hour (100 less the reserve): the last 20 rows wait for the next hour.
    assert view.expected_completion_at is not None and view.expected_completion_at - start == timedelta(hours=1, seconds=38)


def test_a_single_invitation_created_during_a_batch_is_sent_at_once(
    batches: BatchService, emails: InvitationEmailService, mail: MemoryEmailSender, invitation_service: InvitationService, fakes: Fakes
) -> None:
    run_batch(batches, fakes, 200)
    for intent in due_intents(fakes):
        emails.send(intent)
    fakes.clock.advance(seconds=20)
    single = create(invitation_service)
    for intent in due_intents(fakes):
        emails.send(intent)
    email = invitation_service.get(single.id).email
    assert email is not None and email.status == "sent"


def test_a_batch_rows_created_event_is_published_at_once_though_its_email_waits(batches: BatchService, fakes: Fakes) -> None:
    run_batch(batches, fakes, 30)
    created = [message for message in fakes.queues.messages(INVITATION_EVENTS) if message["type"].endswith("created")]
    # The first row's e-mail is due at once: its event goes out with the worker's `sent` write, as a single invitation's.
    assert len(created) == 29
