"""Bulk invitations: a batch of rows, each an InvitationRequest, validated up front and created
by the `invitation-batch` queue workers through the same service as a single create.

Row i's invitation id derives from the batch id and i, so a redelivered message finds the
invitation it created before instead of creating a second one.
"""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.domain.errors import DomainError
from shared.domain.ids import Uuid
from shared.domain.models import ApiModel, FieldError, InvitationRequest

MAX_ROWS = 1000
TRANSACTION_ROWS = 100  # an entity-group transaction holds at most 100 operations
# Rows per invitation-batch message: 5 messages for 1,000 rows keep the request within its
# round-trip budget (11 transactions + 5 enqueues + 1 header update), and 5 workers share the work.
CHUNK_ROWS = 200

Handling = Literal["strict", "lenient"]  # RFC 7240 `Prefer: handling=...`
RowStatus = Literal["queued", "created", "failed", "rejected"]
BatchStatus = Literal["queued", "running", "completed"]

_ROW_NAMESPACE = uuid.UUID("a6f1d0a2-6b1e-4a38-9d52-0f3c7b9e2d11")
_KEY_NAMESPACE = uuid.UUID("0c9b7e55-2f4d-4a8e-b1a3-5d6e7f809112")


def row_invitation_id(batch_id: str, index: int) -> str:
    return str(uuid.uuid5(_ROW_NAMESPACE, f"{batch_id}/{index}"))


def batch_id_for_key(idempotency_key: str) -> str:
    """A retried request with the same Idempotency-Key addresses the same batch (the key's text is
    hashed into the id, never stored)."""
    return str(uuid.uuid5(_KEY_NAMESPACE, idempotency_key))


class InvalidRows(DomainError):
    """Rows that break the rules; nothing was stored."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len({_row_of(error) for error in errors})} row(s) are invalid.", code="validation-error")
        self.errors = errors


def _row_of(error: FieldError) -> str:
    return "/".join(error.pointer.split("/")[:3])


class BatchHeader(ApiModel):
    id: str
    handling: Handling
    actor: str
    created_at: datetime
    total: int
    request_hash: str
    # Every row stored and every chunk message sent (or, rows missing, every row failed by the sweeper).
    enqueued: bool = False


class BatchRow(ApiModel):
    """A row as stored: its request (valid) or its errors (rejected), and the worker's outcome."""

    index: int
    request: InvitationRequest | None = None
    errors: list[FieldError] = Field(default_factory=list)
    invitation_id: str | None = None
    error: str | None = None
    email_due_at: datetime | None = None  # the place its e-mail took in the sending quota

    @property
    def status(self) -> RowStatus:
        if self.request is None:
            # An error without a request: a row the request never stored (the sweeper failed it).
            return "failed" if self.error is not None else "rejected"
        if self.invitation_id is not None:
            return "created"
        return "failed" if self.error is not None else "queued"


class RowOutcome(ApiModel):
    """What a worker did with a row: created its invitation, or failed with an error."""

    index: int
    invitation_id: str | None = None
    error: str | None = None
    email_due_at: datetime | None = None


class BatchChunk(ApiModel):
    """An invitation-batch message: rows first .. first+count-1 of a batch."""

    batch_id: Uuid
    first: int
    count: int


class BatchRowView(ApiModel):
    index: int
    status: RowStatus = Field(
        description="queued: waiting for a worker; created: see invitationId; failed: see errors; "
        "rejected: invalid (lenient handling), see errors."
    )
    invitation_id: str | None = None
    email: str | None = Field(default=None, description="The invitee's address (valid rows).")
    errors: list[FieldError] = Field(default_factory=list, description="Why the row was rejected or failed (JSON Pointers).")


class BatchView(ApiModel):
    id: str
    status: BatchStatus = Field(description="queued: no row done yet; running; completed: no row queued.")
    handling: Handling
    created_at: datetime
    total: int
    queued: int
    created: int
    failed: int
    rejected: int
    expected_completion_at: datetime | None = Field(
        description="When the last of its e-mails is due to be handed to ACS, as paced to the sending quota "
        "(each row's e-mail takes its place when its invitation is created); null while rows are queued, "
        "or when no e-mail is to be sent. A throttling ACS may put single e-mails later: each invitation's "
        "email.nextAttemptAt says when."
    )
    rows: list[BatchRowView]

    @classmethod
    def of(cls, header: BatchHeader, rows: list[BatchRow]) -> "BatchView":
        views = [
            BatchRowView(
                index=row.index,
                status=row.status,
                invitation_id=row.invitation_id,
                email=row.request.invitee.email if row.request else None,
                errors=row.errors or ([FieldError(pointer=f"/rows/{row.index}", detail=row.error)] if row.error else []),
            )
            for row in sorted(rows, key=lambda row: row.index)
        ]
        counts = {status: sum(1 for view in views if view.status == status) for status in ("queued", "created", "failed", "rejected")}
        done = counts["created"] + counts["failed"]
        status: BatchStatus = "completed" if counts["queued"] == 0 else ("running" if done else "queued")
        due = [row.email_due_at for row in rows if row.email_due_at is not None]
        return cls(
            expected_completion_at=max(due) if due and counts["queued"] == 0 else None,
            id=header.id,
            status=status,
            handling=header.handling,
            created_at=header.created_at,
            total=header.total,
            rows=views,
            **counts,
        )
