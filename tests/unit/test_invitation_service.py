"""InvitationService over the in-memory fakes: issuing (idempotency, one open invitation per address),
listing, the guarded transitions and their lost races, and the lifecycle events around each write."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from unittest.mock import Mock

import pytest

from shared.domain.errors import ConcurrentUpdate, Conflict, DuplicateInvitation, IdempotencyMismatch, InvalidInput, NotFound, Unavailable
from shared.domain.events import audit_key
from shared.domain.models import (
    AuditEvent,
    CompanyData,
    Completion,
    EmailIntent,
    Invitation,
    InvitationRequest,
    InvitationStatus,
    InvitationView,
    ListQuery,
    SignedInUser,
)
from shared.queue_names import INVITATION_EMAIL, INVITATION_EVENTS
from shared.services.invitations import InvitationService
from shared.services.ports import Held, Versioned
from tests.fakes.memory import MemoryEmailIndex, MemoryInvitations
from tests.support import invitation_body, unique_email
from tests.unit.services_on_fakes import Fakes, fakes, invitation_service  # noqa: F401  (fixtures)

ANNA = SignedInUser(object_id="oid-anna", email="anna@contoso.example", name="Anna", account_type="local")
BOB = SignedInUser(object_id="oid-bob", email="bob@contoso.example", name="Bob", account_type="local")
SUBMITTED = datetime(2030, 3, 5, 11, 0, tzinfo=UTC)


def request(**overrides: object) -> InvitationRequest:
    return InvitationRequest.model_validate(invitation_body(**overrides))


def for_address(email: str, **overrides: object) -> InvitationRequest:
    return request(invitee={"email": email, "displayName": "Anna"}, **overrides)


def create(service: InvitationService, body: InvitationRequest | None = None, *, key: str | None = None) -> InvitationView:
    view, created = service.create(body or request(), actor="staff", idempotency_key=key)
    assert created
    return view


def actions(service: InvitationService, invitation_id: str) -> list[str]:
    return [event.action for event in service.read(invitation_id).history]


def published(fakes: Fakes) -> list[tuple[str, str]]:
    """(event id, type) of every lifecycle event on the events queue, in order."""
    return [(event["id"], event["type"]) for event in fakes.queues.messages(INVITATION_EVENTS)]


def sent(service: InvitationService, view: InvitationView) -> Invitation:
    """What the e-mail worker records once ACS accepted the send."""
    assert view.email is not None
    intent = EmailIntent(invitation_id=view.id, send_id=view.email.send_id)
    return service.record_email(intent, "sent", actor="worker", after=("queued",), operation_id=view.email.send_id)


def completion(user: SignedInUser = ANNA) -> Completion:
    """What the company page submits (the service's write stamps its own time on it)."""
    company = CompanyData.model_validate(invitation_body()["company"])
    return Completion(
        company_id="company-1", company=company, contact_name=user.name, account=user, completed_at=SUBMITTED, updated_at=SUBMITTED
    )


class RacingInvitations(MemoryInvitations):
    """Storage where another writer gets in first: each function in `rivals` runs (and writes) right
    before one of the next replaces, which then loses the race."""

    def __init__(self) -> None:
        super().__init__()
        self.rivals: list[Callable[[], object]] = []
        self._rival_writing = False

    def replace(self, current: Versioned, changed: Invitation, event: AuditEvent | None) -> Versioned:
        if self.rivals and not self._rival_writing:
            self._rival_writing = True
            try:
                self.rivals.pop(0)()
            finally:
                self._rival_writing = False
        return super().replace(current, changed, event)

    def rewrite(self, invitation_id: str) -> None:
        """Another writer stores the invitation unchanged: only its version moves on."""
        current = self.load(invitation_id)
        self.replace(current, current.invitation, None)


class RacingEmailIndex(MemoryEmailIndex):
    """An index where `rival` (another create) runs right before the next take-over, which then loses."""

    def __init__(self) -> None:
        super().__init__()
        self.rival: Callable[[], object] | None = None

    def take_over(self, email: str, invitation_id: str, now: datetime, held: Held) -> None:
        rival, self.rival = self.rival, None
        if rival is not None:
            rival()
        super().take_over(email, invitation_id, now, held)


@pytest.fixture
def racing() -> Fakes:
    return Fakes(invitations=RacingInvitations())


def racing_store(fakes: Fakes) -> RacingInvitations:
    assert isinstance(fakes.invitations, RacingInvitations)
    return fakes.invitations


# -- issuing -------------------------------------------------------------------------------------------


def test_create_stores_a_pending_invitation_and_hands_its_email_to_the_queue(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    assert (
        view.status == InvitationStatus.PENDING
        and view.invite_redeem_url == f"https://invite.rconnect.example/api/InviteUser?invitationId={view.id}"
    )
    assert view.email is not None and (view.email.status, view.email.attempt) == ("queued", 1)
    assert [(event.action, event.send_id) for event in view.history] == [("created", view.email.send_id)]
    invitation_service.finish_handovers()
    assert fakes.queues.messages(INVITATION_EMAIL) == [{"invitationId": view.id, "sendId": view.email.send_id}]
    # The `created` event is pending on the row, published by the worker's write or the sweeper, not the request.
    stored = fakes.invitations.load(view.id).invitation
    assert [pending.event.action for pending in stored.pending_events] == ["created"] and published(fakes) == []
    assert invitation_service.read(view.id) == view


def test_create_with_the_queue_down_still_issues_and_leaves_the_email_outstanding(
    fakes: Fakes, invitation_service: InvitationService
) -> None:
    fakes.queues.go_down(INVITATION_EMAIL)
    view = create(invitation_service)
    invitation_service.finish_handovers()
    assert fakes.queues.messages(INVITATION_EMAIL) == []
    fakes.clock.advance(minutes=5)
    outstanding, _, _ = fakes.invitations.sweepable(fakes.clock() - timedelta(minutes=1), fakes.clock())
    assert [item.id for item in outstanding] == [view.id]  # the sweeper queues it


def test_the_redirect_must_be_on_the_allow_list(invitation_service: InvitationService) -> None:
    with pytest.raises(InvalidInput) as refused:
        invitation_service.create(request(redirectUrl="https://evil.example/x"), actor="staff", idempotency_key=None)
    assert refused.value.code == "redirect-not-allowed" and refused.value.pointer == "/redirectUrl"
    assert create(invitation_service, request(redirectUrl="https://portal.rconnect.example/welcome")).redirect_url == (
        "https://portal.rconnect.example/welcome"
    )
    invitation_service.check(request())  # the batch's check of each row, without creating


def test_an_idempotency_key_replays_the_first_invitation_and_refuses_another_body(
    fakes: Fakes, invitation_service: InvitationService
) -> None:
    body = request()
    first = create(invitation_service, body, key="key-1")
    again, created = invitation_service.create(body, actor="staff", idempotency_key="key-1")
    assert not created and again == first  # the same send, not a second e-mail
    with pytest.raises(IdempotencyMismatch) as refused:
        invitation_service.create(request(), actor="staff", idempotency_key="key-1")
    assert refused.value.detail == "This Idempotency-Key was already used with a different request body."
    assert len(fakes.invitations.query(None, fakes.clock(), 50, None)[0]) == 1
    other = create(invitation_service, request(), key="key-other")  # another key is another request
    assert other.id != first.id


def test_a_retry_after_a_create_failed_between_its_claims_and_its_write_finishes_that_invitation(
    fakes: Fakes, invitation_service: InvitationService, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = request()
    with monkeypatch.context() as storage_down:
        storage_down.setattr(fakes.invitations, "insert", Mock(side_effect=Unavailable("Storage cannot be reached.")))
        with pytest.raises(Unavailable):  # the key and the address are claimed, the invitation is not written
            invitation_service.create(body, actor="staff", idempotency_key="key-2")
        [attempt] = fakes.invitations.insert.call_args.args  # type: ignore[attr-defined]
    # Meanwhile its address is held: its create may still be writing, for all another create knows.
    fakes.clock.advance(seconds=59)
    with pytest.raises(DuplicateInvitation) as refused:
        invitation_service.create(for_address(body.invitee.email), actor="staff", idempotency_key=None)
    assert refused.value.existing_id == attempt.id
    view, created = invitation_service.create(body, actor="staff", idempotency_key="key-2")
    assert created and view.id == attempt.id  # the address's claim is its own: no DuplicateInvitation


def test_a_repeat_with_a_chosen_id_answers_the_first_invitation(invitation_service: InvitationService) -> None:
    body, chosen = request(), str(uuid.uuid4())
    first, created = invitation_service.create(body, actor="batch", idempotency_key=None, invitation_id=chosen)
    again, created_again = invitation_service.create(body, actor="batch", idempotency_key=None, invitation_id=chosen)
    assert created and not created_again and first.id == again.id == chosen


def test_an_address_has_one_open_invitation_unless_a_duplicate_is_asked_for(invitation_service: InvitationService) -> None:
    email = unique_email()
    first = create(invitation_service, for_address(email))
    with pytest.raises(DuplicateInvitation) as refused:
        invitation_service.create(for_address(email.upper()), actor="staff", idempotency_key=None)
    assert refused.value.existing_id == first.id and refused.value.code == "duplicate-invitation"
    assert refused.value.detail.endswith(f" already has an open invitation ({first.id}); send allowDuplicate: true to invite again.")
    duplicate = create(invitation_service, for_address(email, allowDuplicate=True))
    listed = invitation_service.page(ListQuery(email=email))
    assert sorted(item.id for item in listed.value) == sorted([first.id, duplicate.id])


@pytest.mark.parametrize("close", ["revoke", "expire"])
def test_a_closed_holder_hands_the_address_over_and_stays_listed(fakes: Fakes, invitation_service: InvitationService, close: str) -> None:
    email = unique_email()
    first = create(invitation_service, for_address(email, ttlDays=1))
    if close == "revoke":
        invitation_service.revoke(first.id, "staff")
    else:
        fakes.clock.advance(days=2)
    second = create(invitation_service, for_address(email))
    with pytest.raises(DuplicateInvitation) as refused:
        invitation_service.create(for_address(email), actor="staff", idempotency_key=None)
    assert refused.value.existing_id == second.id
    assert sorted(item.id for item in invitation_service.page(ListQuery(email=email)).value) == sorted([first.id, second.id])


def test_a_claim_whose_invitation_is_not_written_holds_the_address_for_a_minute(
    fakes: Fakes, invitation_service: InvitationService
) -> None:
    email, in_flight = unique_email(), str(uuid.uuid4())
    assert fakes.email_index.claim(email, in_flight, fakes.clock()) is None  # a create still writing, or one that died
    fakes.clock.advance(seconds=59)
    with pytest.raises(DuplicateInvitation) as refused:
        invitation_service.create(for_address(email), actor="staff", idempotency_key=None)
    assert refused.value.existing_id == in_flight
    fakes.clock.advance(seconds=1)  # a minute on: no longer in flight
    view = create(invitation_service, for_address(email))
    assert [item.id for item in invitation_service.page(ListQuery(email=email)).value] == [view.id]  # the unwritten one is skipped


def test_a_create_that_loses_the_take_over_looks_at_the_winner() -> None:
    index = RacingEmailIndex()
    fakes = Fakes(email_index=index)
    service = fakes.invitation_service()
    email = unique_email()
    closed = create(service, for_address(email))
    service.revoke(closed.id, "staff")
    winner: list[str] = []
    index.rival = lambda: winner.append(create(service, for_address(email)).id)  # another create takes it over first
    with pytest.raises(DuplicateInvitation) as refused:
        service.create(for_address(email), actor="staff", idempotency_key=None)
    assert refused.value.existing_id == winner[0]


# -- listing -------------------------------------------------------------------------------------------


def test_a_list_shows_effective_status_and_pages(fakes: Fakes, invitation_service: InvitationService) -> None:
    lapsing = [create(invitation_service, request(ttlDays=1)).id for _ in range(3)]
    fakes.clock.advance(days=2)
    fresh = create(invitation_service)
    expired = invitation_service.page(ListQuery(status=InvitationStatus.EXPIRED))
    assert sorted(item.id for item in expired.value) == sorted(lapsing)
    assert all(item.status == InvitationStatus.EXPIRED and item.history == [] for item in expired.value)
    assert [item.id for item in invitation_service.page(ListQuery(status=InvitationStatus.PENDING)).value] == [fresh.id]
    pages, token = [], None
    while True:
        page = invitation_service.page(ListQuery(page_size=3, continuation_token=token))
        pages.append([item.id for item in page.value])
        if not (token := page.continuation_token):
            break
    assert pages == [sorted([*lapsing, fresh.id])[:3], sorted([*lapsing, fresh.id])[3:]]


def test_a_list_by_email_filters_by_status_and_pages(invitation_service: InvitationService) -> None:
    email = unique_email()
    open_one = create(invitation_service, for_address(email))
    revoked = [create(invitation_service, for_address(email, allowDuplicate=True)) for _ in range(3)]
    for view in revoked:
        invitation_service.revoke(view.id, "staff")
    by_status = invitation_service.page(ListQuery(email=email, status=InvitationStatus.REVOKED))
    assert sorted(item.id for item in by_status.value) == sorted(view.id for view in revoked)
    pages, token = [], None
    while True:
        page = invitation_service.page(ListQuery(email=email, page_size=2, continuation_token=token))
        pages.append([item.id for item in page.value])
        if not (token := page.continuation_token):
            break
    assert [len(page) for page in pages] == [2, 2]
    assert sorted(item for page in pages for item in page) == sorted([open_one.id, *(view.id for view in revoked)])
    with pytest.raises(InvalidInput):
        invitation_service.page(ListQuery(continuation_token="garbage"))


def test_the_link_is_blocked_by_the_effective_status(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service, request(ttlDays=1))
    assert invitation_service.redemption_block(invitation_service.get(view.id)) is None
    fakes.clock.advance(days=1)
    assert invitation_service.redemption_block(invitation_service.get(view.id)) == "invitation-expired"


def test_an_unknown_invitation_is_not_found(invitation_service: InvitationService) -> None:
    with pytest.raises(NotFound):
        invitation_service.read(str(uuid.uuid4()))


# -- transitions and their races -----------------------------------------------------------------------


def test_revoke_answers_with_the_trail_and_publishes_its_event_after_the_write(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    revoked = invitation_service.revoke(view.id, "staff@rconnect.example")
    assert revoked.status == InvitationStatus.REVOKED and [event.action for event in revoked.history] == ["created", "revoked"]
    assert revoked == invitation_service.read(view.id)
    event = revoked.history[-1]
    assert published(fakes) == [(f"{view.id}/{audit_key(event)}", "com.rconnect.invitation.revoked")]
    # Published, and still pending on the row until a worker's write or the sweeper settles it.
    stored = fakes.invitations.load(view.id).invitation
    assert [pending.event.action for pending in stored.pending_events] == ["created", "revoked"]
    with pytest.raises(Conflict) as refused:
        invitation_service.revoke(view.id, "staff")
    assert refused.value.code == "invitation-revoked"


def test_with_the_events_queue_down_the_step_is_written_and_its_event_stays_pending(
    fakes: Fakes, invitation_service: InvitationService
) -> None:
    view = create(invitation_service)
    fakes.queues.go_down(INVITATION_EVENTS)
    assert invitation_service.revoke(view.id, "staff").status == InvitationStatus.REVOKED
    assert published(fakes) == []
    assert [pending.event.action for pending in fakes.invitations.load(view.id).invitation.pending_events] == ["created", "revoked"]
    invitation_service.settle_events(view.id)  # the sweeper, while the queue is still down: nothing changes
    assert len(fakes.invitations.load(view.id).invitation.pending_events) == 2
    fakes.queues.come_back()
    invitation_service.settle_events(view.id)
    assert [kind for _, kind in published(fakes)] == ["com.rconnect.invitation.created", "com.rconnect.invitation.revoked"]
    assert fakes.invitations.load(view.id).invitation.pending_events == []


def test_a_workers_step_settles_the_pending_events_first(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    email = sent(invitation_service, view).email
    assert view.email is not None and email is not None and (email.status, email.operation_id) == ("sent", view.email.send_id)
    assert [kind for _, kind in published(fakes)] == ["com.rconnect.invitation.created", "com.rconnect.invitation.email.sent"]
    stored = fakes.invitations.load(view.id).invitation
    assert [pending.event.action for pending in stored.pending_events] == ["email-sent"]  # out, until the next settling write


def test_a_transition_that_loses_a_race_reads_again_and_succeeds(racing: Fakes) -> None:
    service = racing.invitation_service()
    view = create(service)
    store = racing_store(racing)
    store.rivals.append(lambda: store.rewrite(view.id))
    revoked = service.revoke(view.id, "staff")
    assert [event.action for event in revoked.history] == ["created", "revoked"]
    assert [kind for _, kind in published(racing)] == ["com.rconnect.invitation.revoked"]  # once: after the write that won


def test_a_transition_made_illegal_by_the_race_it_lost_is_refused(racing: Fakes) -> None:
    service = racing.invitation_service()
    view = create(service)
    current = service.load(view.id)
    store = racing_store(racing)
    store.rivals.append(lambda: service.revoke(view.id, "staff"))
    with pytest.raises(Conflict) as refused:
        service.accept(current, ANNA)
    assert refused.value.code == "invitation-revoked"
    assert actions(service, view.id) == ["created", "revoked"]


def test_losing_to_its_own_twin_is_success(racing: Fakes) -> None:
    service = racing.invitation_service()
    view = create(service)
    current = service.load(view.id)
    store = racing_store(racing)
    store.rivals.append(lambda: service.accept(service.load(view.id), ANNA))  # the second tab's callback
    assert service.accept(current, ANNA).status == InvitationStatus.ACCEPTED
    assert actions(service, view.id) == ["created", "accepted"]
    with pytest.raises(Conflict) as refused:
        service.accept(service.load(view.id), BOB)
    assert refused.value.code == "invitation-accepted"


def test_three_lost_races_are_a_concurrent_update_and_publish_nothing(racing: Fakes) -> None:
    service = racing.invitation_service()
    view = create(service)
    store = racing_store(racing)
    store.rivals.extend([lambda: store.rewrite(view.id)] * 3)
    with pytest.raises(ConcurrentUpdate):
        service.revoke(view.id, "staff")
    assert published(racing) == [] and service.read(view.id).status == InvitationStatus.PENDING


def test_accept_complete_and_the_company_outcome_once_each(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    current = invitation_service.load(view.id)
    assert invitation_service.accept(current, ANNA).status == InvitationStatus.ACCEPTED
    assert invitation_service.accept(current, ANNA).status == InvitationStatus.ACCEPTED  # a second callback, from the same read
    accepted = invitation_service.load(view.id)
    first = invitation_service.complete(accepted, completion())
    second = invitation_service.complete(accepted, completion())  # the double submit
    assert first.status == second.status == InvitationStatus.COMPLETED and first.completion == second.completion
    completed = invitation_service.load(view.id)
    assert invitation_service.record_company(completed, "created", None).completion.status == "created"  # type: ignore[union-attr]
    # The worker's write settled the events pending before it (company-created publishes none of its own).
    assert [kind.rsplit(".", 1)[1] for _, kind in published(fakes)] == ["accepted", "completed", "created", "accepted", "completed"]
    assert fakes.invitations.load(view.id).invitation.pending_events == []
    assert invitation_service.record_company(completed, "failed", "late").completion.status == "created"  # type: ignore[union-attr]
    assert actions(invitation_service, view.id) == ["created", "accepted", "completed", "company-created"]


def test_a_company_error_is_noted_without_an_event(invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    invitation_service.accept(invitation_service.load(view.id), ANNA)
    invitation_service.complete(invitation_service.load(view.id), completion())
    invitation_service.note_company_error(view.id, "company-1", "storage down")
    invitation_service.note_company_error(view.id, "another-company", "ignored")
    invitation = invitation_service.get(view.id)
    assert invitation.completion is not None and invitation.completion.error == "storage down"
    assert actions(invitation_service, view.id) == ["created", "accepted", "completed"]
    failed = invitation_service.record_company(invitation_service.load(view.id), "failed", "storage down")  # the poison handler
    assert failed.completion is not None and (failed.completion.status, failed.completion.error) == ("failed", "storage down")
    assert invitation_service.read(view.id).history[-1].detail == "storage down"


def test_reset_lets_another_account_redeem(invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    with pytest.raises(Conflict) as refused:
        invitation_service.reset(view.id, "staff")
    assert refused.value.code == "invitation-pending"
    invitation_service.accept(invitation_service.load(view.id), ANNA)
    reset = invitation_service.reset(view.id, "staff")
    assert reset.status == InvitationStatus.PENDING and reset.accepted_by is None
    assert [event.action for event in reset.history] == ["created", "accepted", "redemption-reset"]
    assert invitation_service.accept(invitation_service.load(view.id), BOB).accepted_by == BOB


# -- the e-mail ----------------------------------------------------------------------------------------


def test_resend_while_queued_is_one_email_and_after_it_left_a_new_send(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    invitation_service.finish_handovers()
    assert invitation_service.resend(view.id, "staff") == view  # still queued: that send is the answer
    assert len(fakes.queues.messages(INVITATION_EMAIL)) == 1
    sent(invitation_service, view)
    resent = invitation_service.resend(view.id, "staff")
    assert resent.email is not None and view.email is not None
    assert (resent.email.attempt, resent.email.status) == (2, "queued") and resent.email.send_id != view.email.send_id
    assert fakes.queues.messages(INVITATION_EMAIL)[-1] == {"invitationId": view.id, "sendId": resent.email.send_id}
    assert invitation_service.resend(view.id, "staff") == resent
    assert len(fakes.queues.messages(INVITATION_EMAIL)) == 2
    assert [event.action for event in resent.history] == ["created", "email-sent", "email-resent"]


def test_only_a_queued_send_is_enqueued(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    invitation_service.finish_handovers()
    invitation_service.enqueue_email(sent(invitation_service, view))  # the sweeper, for an invitation outstanding for its events
    assert len(fakes.queues.messages(INVITATION_EMAIL)) == 1


def test_resend_renews_an_expired_invitation_and_refuses_a_revoked_one(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service, request(ttlDays=1))
    sent(invitation_service, view)
    fakes.clock.advance(days=2)
    assert invitation_service.read(view.id).status == InvitationStatus.EXPIRED
    resent = invitation_service.resend(view.id, "staff")
    assert resent.status == InvitationStatus.PENDING and resent.expires_at == fakes.clock() + timedelta(days=1)
    invitation_service.revoke(view.id, "staff")
    with pytest.raises(Conflict) as refused:  # even though its last e-mail has not left yet
        invitation_service.resend(view.id, "staff")
    assert refused.value.code == "invitation-revoked"


def test_a_stale_or_repeated_email_outcome_changes_nothing(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    assert view.email is not None
    stale = invitation_service.load(view.id)
    sent(invitation_service, view)
    intent = EmailIntent(invitation_id=view.id, send_id=view.email.send_id)
    # From a stale read: its version is refused, the re-read finds the send no longer queued.
    invitation_service.record_email(intent, "failed", actor="worker", after=("queued",), error="late", current=stale)
    invitation_service.record_email(intent, "delivered", actor="acs", after=("queued", "sent"))
    invitation_service.record_email(intent, "delivered", actor="acs", after=("queued", "sent"))
    assert actions(invitation_service, view.id) == ["created", "email-sent", "email-delivered"]


def test_an_email_error_is_noted_on_the_queued_send_only(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    assert view.email is not None
    intent = EmailIntent(invitation_id=view.id, send_id=view.email.send_id)
    invitation_service.note_email_error(intent, "ACS answered 429")
    email = invitation_service.get(view.id).email
    assert email is not None and (email.status, email.error) == ("queued", "ACS answered 429")
    sent(invitation_service, view)
    invitation_service.note_email_error(intent, "too late")
    email = invitation_service.get(view.id).email
    assert email is not None and email.error is None
    assert actions(invitation_service, view.id) == ["created", "email-sent"]


def test_an_expiry_is_reported_once_unless_renewed_meanwhile(fakes: Fakes, invitation_service: InvitationService) -> None:
    view = create(invitation_service, request(ttlDays=1))
    sent(invitation_service, view)
    fakes.clock.advance(days=2)
    _, [expired], _ = fakes.invitations.sweepable(fakes.clock(), fakes.clock())
    invitation_service.report_expiry(expired)
    invitation_service.report_expiry(expired)  # the next sweep, from the same scan
    assert actions(invitation_service, view.id).count("expired") == 1
    assert published(fakes)[-1][1] == "com.rconnect.invitation.expired"
    assert fakes.invitations.sweepable(fakes.clock(), fakes.clock())[1] == []
    other = create(invitation_service, request(ttlDays=1))
    sent(invitation_service, other)
    fakes.clock.advance(days=2)
    _, [lapsed], _ = fakes.invitations.sweepable(fakes.clock(), fakes.clock())
    invitation_service.resend(other.id, "staff")  # renewed after the sweeper's scan
    invitation_service.report_expiry(lapsed)  # nothing expired to report: logged, not raised
    assert "expired" not in actions(invitation_service, other.id)
