"""BatchService over the fakes: rows validated as a single create validates them, strict and lenient
handling, the batch stored and handed to the queue in chunks, replays by Idempotency-Key, the
sweeper's redrive, and the workers creating each row's invitation once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.domain.batches import CHUNK_ROWS, TRANSACTION_ROWS, BatchChunk, BatchHeader, BatchView, Handling, InvalidRows, row_invitation_id
from shared.domain.errors import IdempotencyMismatch, NotFound, Unavailable
from shared.domain.models import Invitation, InvitationRequest
from shared.queue_names import INVITATION_BATCH, INVITATION_EMAIL
from shared.services.batches import POISONED, UNSTORED, BatchService
from shared.services.invitations import InvitationService
from shared.services.ports import Versioned
from tests.fakes.memory import MemoryInvitations
from tests.fakes.stores import MemoryBatches
from tests.support import invitation_body, unique_email
from tests.unit.services.conftest import Fakes

BATCH = "7d0c6f1e-3b2a-4c5d-8e9f-0a1b2c3d4e5f"
OTHER_BATCH = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b"


def valid(**overrides: Any) -> dict[str, Any]:
    return invitation_body(**overrides)


def invalid_email() -> dict[str, Any]:
    return invitation_body(invitee={"email": "not an address", "displayName": "Anna"})


def submit(
    batches: BatchService, rows: list[Any], *, handling: Handling = "lenient", request_hash: str = "hash-1", batch_id: str = BATCH
) -> tuple[BatchView, bool]:
    return batches.submit(batch_id, rows, handling=handling, actor="staff", request_hash=request_hash)


def chunks(fakes: Fakes) -> list[tuple[str, int, int]]:
    return [(m["batchId"], m["first"], m["count"]) for m in fakes.queues.messages(INVITATION_BATCH)]


def work_all(batches: BatchService, fakes: Fakes) -> None:
    for message in fakes.queues.messages(INVITATION_BATCH):
        batches.work(BatchChunk.model_validate(message))


# -- validation -------------------------------------------------------------------------------------


def test_each_row_is_checked_by_the_model_and_the_services_rules(batches: BatchService) -> None:
    checked = batches.check([valid(), invalid_email(), valid(redirectUrl="https://evil.example/x"), "not an object"])
    assert [row.index for row in checked] == [0, 1, 2, 3]
    assert checked[0].request is not None and checked[0].errors == []
    assert checked[1].request is None and [error.pointer for error in checked[1].errors] == ["/rows/1/invitee/email"]
    assert [error.pointer for error in checked[2].errors] == ["/rows/2/redirectUrl"], "the allow-list, as a single create checks it"
    assert checked[3].request is None and checked[3].errors[0].pointer == "/rows/3"


def test_strict_handling_refuses_the_batch_for_one_bad_row_and_stores_nothing(
    batches: BatchService, batch_store: MemoryBatches, fakes: Fakes
) -> None:
    with pytest.raises(InvalidRows) as refused:
        submit(batches, [valid(), invalid_email(), invalid_email()], handling="strict")
    assert [error.pointer for error in refused.value.errors] == ["/rows/1/invitee/email", "/rows/2/invitee/email"]
    assert refused.value.detail == "2 row(s) are invalid."
    assert batch_store.headers == {} and chunks(fakes) == []


def test_lenient_handling_stores_the_bad_rows_as_rejected(batches: BatchService, batch_store: MemoryBatches) -> None:
    view, created = submit(batches, [valid(), invalid_email()])
    assert created and (view.total, view.queued, view.rejected, view.status) == (2, 1, 1, "queued")
    assert [row.status for row in batches.view(BATCH).rows] == ["queued", "rejected"]
    assert batch_store.headers[BATCH].enqueued


def test_a_batch_without_a_valid_row_is_refused_even_when_lenient(batches: BatchService, batch_store: MemoryBatches) -> None:
    with pytest.raises(InvalidRows):
        submit(batches, [invalid_email(), invalid_email()])
    assert batch_store.headers == {}


# -- storing and handing over ---------------------------------------------------------------------------


def test_a_batch_is_stored_whole_and_sent_in_chunks(batches: BatchService, batch_store: MemoryBatches, fakes: Fakes) -> None:
    total = 2 * CHUNK_ROWS + 50
    view, created = submit(batches, [valid() for _ in range(total)])
    assert created and view.total == total
    assert len(batch_store.rows[BATCH]) == total, "the rows past the first transaction are written too"
    assert total > TRANSACTION_ROWS
    assert chunks(fakes) == [(BATCH, 0, CHUNK_ROWS), (BATCH, CHUNK_ROWS, CHUNK_ROWS), (BATCH, 2 * CHUNK_ROWS, 50)]
    assert batch_store.headers[BATCH].enqueued and batch_store.outstanding(fakes.clock() + timedelta(days=1)) == []


def test_the_same_request_again_is_a_replay_that_sends_nothing_more(batches: BatchService, fakes: Fakes) -> None:
    rows = [valid(), valid()]
    submit(batches, rows)
    view, created = submit(batches, rows)
    assert not created and view.total == 2
    assert chunks(fakes) == [(BATCH, 0, 2)]


def test_another_request_under_the_same_key_is_a_mismatch(batches: BatchService) -> None:
    submit(batches, [valid()])
    with pytest.raises(IdempotencyMismatch):
        submit(batches, [valid()], request_hash="hash-2")


def test_a_replay_finishes_the_hand_over_a_first_try_left_undone(batches: BatchService, batch_store: MemoryBatches, fakes: Fakes) -> None:
    fakes.queues.go_down(INVITATION_BATCH)
    view, created = submit(batches, [valid(), valid()])
    assert created and view.queued == 2, "every row is stored: the batch is accepted"
    assert not batch_store.headers[BATCH].enqueued and chunks(fakes) == []
    fakes.queues.come_back()
    _, created = submit(batches, [valid(), valid()])
    assert not created and chunks(fakes) == [(BATCH, 0, 2)] and batch_store.headers[BATCH].enqueued


def test_an_unknown_batch_is_not_found(batches: BatchService) -> None:
    with pytest.raises(NotFound):
        batches.view(BATCH)


# -- the sweeper's redrive ------------------------------------------------------------------------------


def test_redrive_hands_over_batches_whose_hand_over_was_not_recorded(
    batches: BatchService, batch_store: MemoryBatches, fakes: Fakes
) -> None:
    fakes.queues.go_down(INVITATION_BATCH)
    submit(batches, [valid(), valid()])
    submit(batches, [valid()], batch_id=OTHER_BATCH)
    fakes.queues.come_back()
    assert batches.redrive(fakes.clock()) == 0, "not due before the cutoff"
    fakes.clock.advance(minutes=5)
    assert batches.redrive(fakes.clock()) == 2
    assert sorted(chunks(fakes)) == sorted([(BATCH, 0, 2), (OTHER_BATCH, 0, 1)])
    assert batch_store.headers[BATCH].enqueued and batch_store.headers[OTHER_BATCH].enqueued
    assert batches.redrive(fakes.clock()) == 0, "handed over once"


def test_redrive_fails_the_rows_of_a_batch_whose_rows_were_not_all_stored(
    batches: BatchService, batch_store: MemoryBatches, fakes: Fakes
) -> None:
    # The request died after its first transaction: the header and 99 of 150 rows are stored.
    checked = batches.check([valid() for _ in range(150)])
    header = BatchHeader(id=BATCH, handling="strict", actor="staff", created_at=fakes.clock(), total=150, request_hash="hash-1")
    batch_store.begin(header, checked)
    fakes.clock.advance(minutes=5)
    assert batches.redrive(fakes.clock()) == 1
    view = batches.view(BATCH)
    assert (view.status, view.failed, view.queued, len(view.rows)) == ("completed", 150, 0, 150)
    assert {error.detail for row in view.rows for error in row.errors} == {UNSTORED}
    assert chunks(fakes) == [] and batch_store.headers[BATCH].enqueued


# -- the workers -----------------------------------------------------------------------------------------


def test_a_worker_creates_each_rows_invitation_under_its_derived_id(batches: BatchService, invitation_service: InvitationService) -> None:
    email = unique_email("batch")
    submit(batches, [valid(invitee={"email": email, "displayName": "Anna"}), invalid_email()])
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=2))
    view = batches.view(BATCH)
    assert [(row.status, row.invitation_id) for row in view.rows] == [("created", row_invitation_id(BATCH, 0)), ("rejected", None)]
    assert invitation_service.get(row_invitation_id(BATCH, 0)).invitee.email == email
    assert view.status == "completed"


def test_a_worker_passes_over_rejected_rows_to_the_rows_after_them(batches: BatchService) -> None:
    submit(batches, [invalid_email(), valid(), valid()])
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=3))
    assert [row.status for row in batches.view(BATCH).rows] == ["rejected", "created", "created"]


def test_a_late_delivery_of_a_poisoned_chunk_leaves_its_failed_rows_failed(batches: BatchService, fakes: Fakes) -> None:
    submit(batches, [valid()])
    batches.fail_poisoned(BatchChunk(batch_id=BATCH, first=0, count=1))
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=1))
    [row] = batches.view(BATCH).rows
    assert (row.status, row.invitation_id) == ("failed", None)
    assert fakes.invitations.query(None, fakes.clock(), 10, None)[0] == [], "no invitation for a failed row"


def test_a_redelivered_chunk_creates_nothing_twice(batches: BatchService, invitation_service: InvitationService, fakes: Fakes) -> None:
    submit(batches, [valid(), valid()])
    work_all(batches, fakes)
    invitation_service.finish_handovers()
    emails = len(fakes.queues.messages(INVITATION_EMAIL))
    recorded = batches.view(BATCH).rows
    work_all(batches, fakes)  # the message delivered again
    invitation_service.finish_handovers()
    assert batches.view(BATCH).rows == recorded
    assert len(fakes.queues.messages(INVITATION_EMAIL)) == emails == 2, "one e-mail per row"


def test_a_worker_that_died_after_creating_finds_the_invitation_instead_of_creating_another(
    batches: BatchService, batch_store: MemoryBatches, invitation_service: InvitationService, fakes: Fakes
) -> None:
    body = valid()
    submit(batches, [body])
    # The first delivery created the invitation, then died before recording the row's outcome.
    request = InvitationRequest.model_validate(body)
    invitation_service.create(request, actor="staff", idempotency_key=None, invitation_id=row_invitation_id(BATCH, 0))
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=1))
    [row] = batch_store.load(BATCH)[1]
    assert (row.status, row.invitation_id) == ("created", row_invitation_id(BATCH, 0))
    assert [item.id for item in fakes.invitations.query(None, fakes.clock(), 10, None)[0]] == [row_invitation_id(BATCH, 0)]


def test_a_row_the_service_refuses_fails_with_the_reason(batches: BatchService) -> None:
    email = unique_email("twice")
    person = {"email": email, "displayName": "Anna"}
    submit(batches, [valid(invitee=person), valid(invitee=person)])
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=2))
    first, second = batches.view(BATCH).rows
    assert first.status == "created"
    assert second.status == "failed" and "already has an open invitation" in second.errors[0].detail


class StorageFailsAfter(MemoryInvitations):
    """Invitation storage that becomes unreachable after `inserts` inserts."""

    def __init__(self, inserts: int) -> None:
        super().__init__()
        self.inserts = inserts

    def insert(self, invitation: Invitation) -> Versioned:
        if self.inserts == 0:
            raise Unavailable("Storage cannot be reached.", code="storage-unavailable")
        self.inserts -= 1
        return super().insert(invitation)


def test_a_passing_failure_records_what_was_done_and_raises_for_a_redelivery(batch_store: MemoryBatches) -> None:
    fakes = Fakes(invitations=StorageFailsAfter(inserts=1))
    batches = BatchService(fakes.invitation_service(), batch_store, fakes.queues, fakes.clock, fakes.budget)
    submit(batches, [valid(), valid()])
    with pytest.raises(Unavailable):
        batches.work(BatchChunk(batch_id=BATCH, first=0, count=2))
    assert [row.status for row in batches.view(BATCH).rows] == ["created", "queued"], "the created row is recorded, the other retried"


class Watched(MemoryInvitations):
    """Invitation storage that notes, at each insert, how many of the batch's rows have a recorded outcome."""

    def __init__(self, batch_store: MemoryBatches) -> None:
        super().__init__()
        self.batch_store, self.recorded_at_insert = batch_store, list[int]()

    def insert(self, invitation: Invitation) -> Versioned:
        self.recorded_at_insert.append(sum(row.invitation_id is not None for row in self.batch_store.rows[BATCH].values()))
        return super().insert(invitation)


def test_a_worker_records_outcomes_every_transaction_so_progress_shows(batch_store: MemoryBatches) -> None:
    watched = Watched(batch_store)
    fakes = Fakes(invitations=watched)
    batches = BatchService(fakes.invitation_service(), batch_store, fakes.queues, fakes.clock, fakes.budget)
    submit(batches, [valid() for _ in range(TRANSACTION_ROWS + 5)])
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=TRANSACTION_ROWS + 5))
    assert watched.recorded_at_insert[TRANSACTION_ROWS - 1] == 0
    assert watched.recorded_at_insert[TRANSACTION_ROWS] == TRANSACTION_ROWS, "the first 100 are recorded before the 101st"
    assert batches.view(BATCH).created == TRANSACTION_ROWS + 5


def test_a_poisoned_chunk_fails_its_rows_still_queued(batches: BatchService) -> None:
    submit(batches, [valid(), valid(), valid()])
    batches.work(BatchChunk(batch_id=BATCH, first=0, count=1))
    batches.fail_poisoned(BatchChunk(batch_id=BATCH, first=0, count=2))
    rows = batches.view(BATCH).rows
    assert [row.status for row in rows] == ["created", "failed", "queued"], "only the chunk's queued rows"
    assert rows[1].errors[0].detail == POISONED
