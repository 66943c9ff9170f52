"""Bulk invitations: validate every row up front, store the batch, hand its rows to the queue workers.

The request stores the rows (transactions of 100) and sends one `invitation-batch` message per
CHUNK_ROWS rows; a worker creates its rows' invitations through InvitationService.create (so each
e-mail follows through the e-mail pipeline) with ids derived from the batch id and row index, and
records each row's outcome. A redelivered message skips the rows with an outcome and finds the
invitations of the others if they exist, so it never creates a second one. Once every row is
stored the batch is accepted: if its chunks are not all sent and recorded (the request died, the
queue was down), the sweeper sends them (`redrive`), as it re-drives an invitation's intents.
"""

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.domain.batches import (
    CHUNK_ROWS,
    TRANSACTION_ROWS,
    BatchChunk,
    BatchHeader,
    BatchRow,
    BatchView,
    Handling,
    InvalidRows,
    RowOutcome,
    row_invitation_id,
)
from shared.domain.errors import AlreadyExists, DomainError, IdempotencyMismatch, InvalidInput, Unavailable
from shared.domain.models import FieldError, InvitationRequest, field_errors
from shared.log_context import invitation_context
from shared.queue_names import INVITATION_BATCH
from shared.services.invitations import InvitationService
from shared.services.ports import BatchRepository, Clock, QueueSender, SendBudget

log = logging.getLogger(__name__)
UNSTORED = "The request ended before every row of the batch was stored, so none was created: submit the batch again."
POISONED = "The rows could not be processed after repeated tries (storage or e-mail unavailable); submit them again."


class BatchService:
    def __init__(
        self, invitations: InvitationService, store: BatchRepository, queues: QueueSender, clock: Clock, budget: SendBudget
    ) -> None:
        self._invitations, self._store, self._queues, self._clock, self._budget = invitations, store, queues, clock, budget

    def check(self, rows: list[Any]) -> list[BatchRow]:
        """Every row validated as a single create validates it (the model, then the service's rules)."""
        checked = []
        for index, data in enumerate(rows):
            prefix = f"/rows/{index}"
            try:
                request = InvitationRequest.model_validate(data)
                self._invitations.check(request)
            except ValidationError as error:
                checked.append(BatchRow(index=index, errors=field_errors(error, prefix)))
            except InvalidInput as error:
                checked.append(BatchRow(index=index, errors=[FieldError(pointer=prefix + (error.pointer or ""), detail=error.detail)]))
            else:
                checked.append(BatchRow(index=index, request=request))
        return checked

    def submit(self, batch_id: str, rows: list[Any], *, handling: Handling, actor: str, request_hash: str) -> tuple[BatchView, bool]:
        """Store the batch and queue its rows; (view, created). InvalidRows if a row is invalid
        (strict handling) or none is valid. A batch id seen before (its Idempotency-Key) with the same
        request is a replay, finishing what a crashed first try left undone; with another, IdempotencyMismatch."""
        checked = self.check(rows)
        bad = [error for row in checked for error in row.errors]
        if bad and (handling == "strict" or all(row.request is None for row in checked)):
            raise InvalidRows(bad)
        header = BatchHeader(
            id=batch_id, handling=handling, actor=actor, created_at=self._clock(), total=len(checked), request_hash=request_hash
        )
        try:
            rest = self._store.begin(header, checked)
        except AlreadyExists:
            return self._replay(header, checked), False
        self._hand_over(header, rest)
        return BatchView.of(header, checked), True

    def _replay(self, header: BatchHeader, rows: list[BatchRow]) -> BatchView:
        stored = self._store.header(header.id)
        if stored.request_hash != header.request_hash:
            raise IdempotencyMismatch("This Idempotency-Key was already used with a different request body.")
        if not stored.enqueued:
            self._hand_over(stored, rows)  # idempotent: rows merge, chunk messages repeat harmlessly
        return self.view(header.id)

    def _hand_over(self, header: BatchHeader, rows: list[BatchRow]) -> None:
        self._store.write_rows(header.id, rows)
        try:
            self._send_chunks(header)
        except Unavailable as error:
            # Every row is stored, so the batch is accepted: the sweeper sends its chunks (redrive).
            log.warning("Batch %s stored but not handed over (%s); the sweeper will", header.id, error.detail)

    def _send_chunks(self, header: BatchHeader) -> None:
        for first in range(0, header.total, CHUNK_ROWS):
            chunk = BatchChunk(batch_id=header.id, first=first, count=min(CHUNK_ROWS, header.total - first))
            self._queues.send(INVITATION_BATCH, chunk.model_dump(mode="json", by_alias=True))
        self._store.mark_enqueued(header)

    def redrive(self, created_before: datetime) -> int:
        """The sweeper's part: hand over every batch created before `created_before` whose hand-over
        was not recorded (the request died, or the queue or table was down); returns how many.
        The chunks' workers skip rows with an outcome and derive each row's invitation id, so a
        chunk sent twice (the request was only slow, two sweeps overlapped) creates nothing twice.
        A batch whose request died while storing its rows cannot be finished: its rows fail."""
        due = self._store.outstanding(created_before)
        for header in due:
            _, rows = self._store.load(header.id)
            if len(rows) == header.total:
                self._send_chunks(header)
                continue
            stored = {row.index for row in rows}
            self._store.record(
                header.id,
                [RowOutcome(index=row.index, error=UNSTORED) for row in rows if row.status == "queued"]
                + [RowOutcome(index=index, error=UNSTORED) for index in range(header.total) if index not in stored],
            )
            self._store.mark_enqueued(header)
        if due:
            log.warning("Sweeper handed over %d batch(es) whose hand-over was not recorded", len(due))
        return len(due)

    def view(self, batch_id: str) -> BatchView:
        return BatchView.of(*self._store.load(batch_id))

    def work(self, chunk: BatchChunk) -> None:
        """Create the invitations of the chunk's queued rows and record each outcome (every 100 rows,
        so progress shows). A passing failure records what is done and raises, for a redelivery."""
        header, rows = self._store.load(chunk.batch_id, chunk.first, chunk.count)
        outcomes: list[RowOutcome] = []
        try:
            for row in rows:
                if row.request is None or row.status != "queued":
                    continue
                outcomes.append(self._create(header, row, row.request))
                if len(outcomes) == TRANSACTION_ROWS:
                    self._store.record(header.id, outcomes)
                    outcomes = []
        finally:
            if outcomes:
                self._store.record(header.id, outcomes)

    def _create(self, header: BatchHeader, row: BatchRow, request: InvitationRequest) -> RowOutcome:
        invitation_id = row_invitation_id(header.id, row.index)
        try:
            with invitation_context(invitation_id):
                # The e-mail's place in the quota, behind the batch's earlier rows and leaving the reserve to single invitations.
                send_at = self._budget.reserve(self._clock(), bulk=True)
                self._invitations.create(request, actor=header.actor, idempotency_key=None, invitation_id=invitation_id, send_at=send_at)
        except DomainError as error:
            if error.retryable:
                raise
            log.warning("Batch %s row %d not created: %s", header.id, row.index, error.detail)
            return RowOutcome(index=row.index, error=error.detail)
        return RowOutcome(index=row.index, invitation_id=invitation_id, email_due_at=send_at)

    def fail_poisoned(self, chunk: BatchChunk) -> None:
        """The host gave up on a chunk's message: its rows still queued fail, so the batch completes."""
        header, rows = self._store.load(chunk.batch_id, chunk.first, chunk.count)
        failed = [RowOutcome(index=row.index, error=POISONED) for row in rows if row.status == "queued"]
        if failed:
            self._store.record(header.id, failed)
