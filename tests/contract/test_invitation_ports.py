"""The contract of the invitation's ports (shared/services/ports.py), held against the in-memory
fakes (tests/fakes/memory.py) and the Azure adapters alike (see conftest.py).

Azurite's tables outlive a test: each test names its own invitations, addresses and keys, and
looks only at those. Their ids start with zeros (CONTRACT_ID_PREFIX): they sort first, so a page
walk meets them early, and the fixture deletes them afterwards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import AlreadyExists, ConcurrentUpdate, InvalidInput, NotFound, Unavailable
from shared.domain.models import Change, Invitation, InvitationRequest, InvitationStatus, SignedInUser
from shared.services.ports import EmailIndex, IdempotencyClaim, IdempotencyKeys, InvitationRepository
from tests.contract.conftest import CONTRACT_ID_PREFIX, Queues
from tests.support import invitation_body

NOW = datetime.now(UTC).replace(microsecond=0)
ANNA = SignedInUser(object_id="oid-anna", email="anna@contoso.example", name="Anna", account_type="local")


def early_id() -> str:
    return CONTRACT_ID_PREFIX + str(uuid.uuid4())[len(CONTRACT_ID_PREFIX) :]


def issued(invitation_id: str | None = None, *, now: datetime = NOW, ttl_days: int = 7) -> Invitation:
    invitation_id = invitation_id or early_id()
    request = InvitationRequest.model_validate(invitation_body(ttlDays=ttl_days))
    return Invitation.issue(
        request, invitation_id=invitation_id, actor="staff", redeem_url=f"https://x.example/{invitation_id}", now=now
    ).invitation


def changed(change: Change | None) -> Invitation:
    assert change is not None
    return change.invitation


def unique_email() -> str:
    return f"Contract.{uuid.uuid4().hex[:12]}@Contoso.example"


# -- InvitationRepository ------------------------------------------------------------------------------


def test_an_inserted_invitation_loads_as_written_and_reads_with_its_created_event(invitation_repository: InvitationRepository) -> None:
    invitation = issued()
    inserted = invitation_repository.insert(invitation)
    assert inserted.invitation == invitation and inserted.history == [invitation.creation]
    loaded = invitation_repository.load(invitation.id)
    assert loaded.invitation == invitation and loaded.history is None
    read = invitation_repository.read(invitation.id)
    assert read.invitation == invitation and read.history == [invitation.creation]


def test_an_id_is_inserted_once(invitation_repository: InvitationRepository) -> None:
    invitation = issued()
    invitation_repository.insert(invitation)
    with pytest.raises(AlreadyExists):
        invitation_repository.insert(invitation.model_copy(update={"message": "again"}))
    assert invitation_repository.load(invitation.id).invitation.message is None


def test_an_unknown_invitation_is_not_found(invitation_repository: InvitationRepository) -> None:
    with pytest.raises(NotFound):
        invitation_repository.load(early_id())
    with pytest.raises(NotFound):
        invitation_repository.read(early_id())


def test_a_replace_appends_its_event_to_the_trail(invitation_repository: InvitationRepository) -> None:
    invitation = issued()
    invitation_repository.insert(invitation)
    current = invitation_repository.read(invitation.id)
    revoked = current.invitation.revoke("staff", NOW)
    written = invitation_repository.replace(current, revoked.invitation, revoked.event)
    assert written.invitation == revoked.invitation
    assert written.history == [invitation.creation, revoked.event]  # the trail it was read with, and the step
    assert invitation_repository.read(invitation.id).history == [invitation.creation, revoked.event]
    assert invitation_repository.load(invitation.id).invitation.status == InvitationStatus.REVOKED


def test_a_replace_from_a_load_answers_without_a_trail_and_one_without_an_event_leaves_it(
    invitation_repository: InvitationRepository,
) -> None:
    invitation = issued()
    invitation_repository.insert(invitation)
    current = invitation_repository.load(invitation.id)
    written = invitation_repository.replace(current, current.invitation.model_copy(update={"pending_events": []}), None)
    assert written.history is None
    accepted = written.invitation.accept(ANNA, NOW)
    assert accepted is not None
    invitation_repository.replace(written, accepted.invitation, accepted.event)  # the version it answered is the next write's
    assert invitation_repository.read(invitation.id).history == [invitation.creation, accepted.event]


def test_a_replace_from_a_stale_version_is_a_concurrent_update(invitation_repository: InvitationRepository) -> None:
    invitation = issued()
    invitation_repository.insert(invitation)
    first, second = invitation_repository.read(invitation.id), invitation_repository.read(invitation.id)
    revoked = first.invitation.revoke("staff", NOW)
    invitation_repository.replace(first, revoked.invitation, revoked.event)
    resent = second.invitation.model_copy(update={"message": "lost"})
    with pytest.raises(ConcurrentUpdate):
        invitation_repository.replace(second, resent, None)
    stored = invitation_repository.read(invitation.id)
    assert stored.invitation == revoked.invitation and stored.history == [invitation.creation, revoked.event]


def test_a_query_pages_through_the_effective_status_in_id_order(invitation_repository: InvitationRepository) -> None:
    prefix = f"{CONTRACT_ID_PREFIX}-{uuid.uuid4().hex[:4]}"
    ids = [f"{prefix}-{n:04d}-0000-000000000000" for n in range(5)]
    pending, accepted, revoked, expired, expired_accepted = (issued(invitation_id) for invitation_id in ids)
    accepted = changed(accepted.accept(ANNA, NOW))
    revoked = revoked.revoke("staff", NOW).invitation
    expired = expired.model_copy(update={"expires_at": NOW - timedelta(seconds=1)})
    expired_accepted = changed(expired_accepted.accept(ANNA, NOW)).model_copy(update={"expires_at": NOW})
    for invitation in (pending, accepted, revoked, expired, expired_accepted):
        invitation_repository.insert(invitation)

    def ours(status: InvitationStatus | None, page_size: int) -> list[str]:
        found, token, pages = [], None, 0
        while True:
            page, token = invitation_repository.query(status, NOW, page_size, token)
            assert len(page) <= page_size
            found += [item.id for item in page if item.id.startswith(prefix)]
            pages += 1
            if token is None or pages > 1000:
                return found

    assert ours(None, 2) == ids
    assert ours(InvitationStatus.PENDING, 2) == [ids[0]]
    assert ours(InvitationStatus.ACCEPTED, 1) == [ids[1]]
    assert ours(InvitationStatus.REVOKED, 50) == [ids[2]]
    assert ours(InvitationStatus.EXPIRED, 1) == [ids[3], ids[4]]  # open, and past expires_at (inclusive)
    assert ours(InvitationStatus.COMPLETED, 50) == []


def test_a_token_it_did_not_hand_out_is_invalid_input(invitation_repository: InvitationRepository) -> None:
    with pytest.raises(InvalidInput):
        invitation_repository.query(None, NOW, 10, "not a token")


def test_sweepable_finds_outstanding_intents_and_unreported_expiries(invitation_repository: InvitationRepository) -> None:
    queued_long_ago = issued(now=NOW - timedelta(minutes=10))  # its e-mail still queued
    queued_now = issued()
    settled = issued(now=NOW - timedelta(minutes=10))
    assert settled.email is not None
    settled = settled.model_copy(update={"email": settled.email.model_copy(update={"status": "sent"})})
    lapsed = settled.model_copy(update={"id": early_id(), "expires_at": NOW - timedelta(seconds=1)})
    reported = lapsed.model_copy(update={"id": early_id(), "expiry_reported": lapsed.expires_at})
    for invitation in (queued_long_ago, queued_now, settled, lapsed, reported):
        invitation_repository.insert(invitation)
    mine = {invitation.id for invitation in (queued_long_ago, queued_now, settled, lapsed, reported)}

    outstanding, expired, _ = invitation_repository.sweepable(NOW - timedelta(minutes=1), NOW)
    assert [item.id for item in outstanding if item.id in mine] == [queued_long_ago.id]
    assert [item.id for item in expired if item.id in mine] == [lapsed.id]


def test_sweepable_finds_reminders_due_only_when_asked(invitation_repository: InvitationRepository) -> None:
    base = issued(now=NOW - timedelta(days=6))  # a 7-day invitation: expires a day from NOW
    assert base.email is not None
    delivered = base.model_copy(update={"email": base.email.model_copy(update={"status": "delivered"})})
    reminded = delivered.model_copy(update={"id": early_id(), "reminded_at": NOW})
    opted_out = delivered.model_copy(update={"id": early_id(), "reminders": False})
    far = delivered.model_copy(update={"id": early_id(), "expires_at": NOW + timedelta(days=5)})
    lapsed = delivered.model_copy(update={"id": early_id(), "expires_at": NOW - timedelta(seconds=1)})
    candidates = (base, delivered.model_copy(update={"id": early_id()}), reminded, opted_out, far, lapsed)
    for invitation in candidates:
        invitation_repository.insert(invitation)
    mine = {invitation.id for invitation in candidates}

    assert [item.id for item in invitation_repository.sweepable(NOW, NOW, NOW + timedelta(days=2)).reminders if item.id in mine] == [
        candidates[1].id
    ]
    assert [item.id for item in invitation_repository.sweepable(NOW, NOW).reminders if item.id in mine] == []


# -- EmailIndex ----------------------------------------------------------------------------------------


def test_the_first_claim_holds_the_address_whatever_its_case(email_index: EmailIndex) -> None:
    email, first, second = unique_email(), early_id(), early_id()
    assert email_index.claim(email, first, NOW) is None
    held = email_index.claim(email.lower(), second, NOW + timedelta(seconds=5))
    assert held is not None and (held.invitation_id, held.claimed_at) == (first, NOW)
    again = email_index.claim(email, first, NOW)  # the holder's own retry names itself
    assert again is not None and again.invitation_id == first
    assert email_index.page(email.upper(), 10, None) == ([first], None)


def test_a_take_over_moves_the_claim_and_keeps_the_former_holder_listed(email_index: EmailIndex) -> None:
    email, former, taker, late = unique_email(), early_id(), early_id(), early_id()
    email_index.claim(email, former, NOW)
    held = email_index.claim(email, taker, NOW)
    assert held is not None
    email_index.take_over(email, taker, NOW, held)
    with pytest.raises(ConcurrentUpdate):
        email_index.take_over(email, late, NOW, held)  # the claim changed since `held` was read
    now_held = email_index.claim(email, late, NOW)
    assert now_held is not None and now_held.invitation_id == taker
    assert sorted(_all_pages(email_index, email, 10)) == sorted([former, taker])


def test_added_invitations_are_listed_without_the_claim_and_once(email_index: EmailIndex) -> None:
    email, duplicate = unique_email(), early_id()
    email_index.add(email, duplicate)
    email_index.add(email, duplicate)
    assert email_index.page(email, 10, None) == ([duplicate], None)
    holder = early_id()
    assert email_index.claim(email, holder, NOW) is None  # adding claimed nothing


def test_the_index_pages_with_tokens_and_the_holder_comes_last(email_index: EmailIndex) -> None:
    email, holder = unique_email(), early_id()
    listed = sorted(early_id() for _ in range(5))
    for invitation_id in listed:
        email_index.add(email, invitation_id)
    email_index.claim(email, holder, NOW)
    assert _all_pages(email_index, email, 2) == [*listed, holder]
    assert email_index.page(unique_email(), 10, None) == ([], None)
    with pytest.raises(InvalidInput):
        email_index.page(email, 2, "not a token")


def _all_pages(email_index: EmailIndex, email: str, page_size: int) -> list[str]:
    found: list[str] = []
    page, token = email_index.page(email, page_size, None)
    while True:
        assert len(page) <= page_size
        found += page
        if token is None:
            return found
        page, token = email_index.page(email, page_size, token)


# -- IdempotencyKeys -----------------------------------------------------------------------------------


def test_the_first_claim_of_a_key_wins(idempotency_keys: IdempotencyKeys) -> None:
    key = f"key-{uuid.uuid4()}"
    first = IdempotencyClaim(request_hash="a" * 64, invitation_id=early_id())
    assert idempotency_keys.claim(key, first) == (first, True)
    other = IdempotencyClaim(request_hash="b" * 64, invitation_id=early_id())
    assert idempotency_keys.claim(key, other) == (first, False)
    assert idempotency_keys.claim(key, first) == (first, False)
    assert idempotency_keys.claim(f"{key}-other", other) == (other, True)


# -- QueueSender ---------------------------------------------------------------------------------------


def test_a_sent_message_arrives_as_json(queues: Queues, queue_name: str) -> None:
    message = {"invitationId": early_id(), "sendId": "s-1", "attempt": 1, "nested": {"ok": True}}
    message_id = queues.sender.send(queue_name, message)
    assert isinstance(message_id, str) and message_id
    assert queues.visible(queue_name) == [message]


def test_a_visibility_timeout_hides_the_message_until_it_passes(queues: Queues, queue_name: str) -> None:
    queues.sender.send(queue_name, {"n": 1}, visibility_timeout=1)
    queues.sender.send(queue_name, {"n": 2})
    assert queues.visible(queue_name) == [{"n": 2}]
    queues.wait(1.5)
    assert sorted(message["n"] for message in queues.visible(queue_name)) == [1, 2]


def test_an_unreachable_queue_service_is_unavailable(queues: Queues, queue_name: str) -> None:
    with pytest.raises(Unavailable) as error:
        queues.unreachable().send(queue_name, {"n": 1})
    assert error.value.retryable
