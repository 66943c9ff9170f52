"""In-memory BatchRepository, CompanyRepository, UserDirectory, AdminConsentLog, EmailOperations and SendBudget.

Each keeps its Table Storage adapter's semantics (shared/adapters/tables), which the contract suite
tests/contract/test_store_ports.py holds both to: inserts that meet a key raise AlreadyExists,
upserts merge the way the adapters' MERGE does (a column not written keeps its value, a None is
not written), and what is stored is a copy, never the caller's object. The extra attributes
(`members`, `sign_ins`, `consents`) show what the adapters store but their ports never read back.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from shared.domain.batches import TRANSACTION_ROWS, BatchHeader, BatchRow, RowOutcome
from shared.domain.errors import AlreadyExists, NotFound, Unavailable
from shared.domain.models import Company, Role, SignedInUser
from shared.domain.pacing import Quota, next_slot


class MemoryBatches:
    def __init__(self) -> None:
        self.headers: dict[str, BatchHeader] = {}
        self.rows: dict[str, dict[int, BatchRow]] = {}

    def begin(self, header: BatchHeader, rows: list[BatchRow]) -> list[BatchRow]:
        if header.id in self.headers:
            raise AlreadyExists(f"Batch {header.id} already exists.", code="already-exists")
        # The adapter's first transaction: the header and the first 99 rows (100 operations).
        first, rest = rows[: TRANSACTION_ROWS - 1], rows[TRANSACTION_ROWS - 1 :]
        self.headers[header.id] = header.model_copy(deep=True)
        self.write_rows(header.id, first)
        return rest

    def write_rows(self, batch_id: str, rows: list[BatchRow]) -> None:
        # A merge of what the request decided: a worker's outcome already on the row stays.
        stored = self.rows.setdefault(batch_id, {})
        for row in rows:
            before = stored.get(row.index)
            stored[row.index] = BatchRow(
                index=row.index,
                request=row.request.model_copy(deep=True) if row.request else (before.request if before else None),
                errors=[error.model_copy() for error in row.errors] if row.request is None else (before.errors if before else []),
                invitation_id=before.invitation_id if before else None,
                error=before.error if before else None,
            )

    def mark_enqueued(self, header: BatchHeader) -> None:
        self.headers[header.id] = header.model_copy(update={"enqueued": True}, deep=True)

    def outstanding(self, created_before: datetime) -> list[BatchHeader]:
        return [
            header.model_copy(deep=True)
            for _, header in sorted(self.headers.items())
            if not header.enqueued and header.created_at < created_before
        ]

    def header(self, batch_id: str) -> BatchHeader:
        if batch_id not in self.headers:
            raise NotFound(f"No batch has the id {batch_id}.")
        return self.headers[batch_id].model_copy(deep=True)

    def load(self, batch_id: str, first: int = 0, count: int | None = None) -> tuple[BatchHeader, list[BatchRow]]:
        header = self.header(batch_id)
        last = first + count - 1 if count is not None else None
        rows = [
            row.model_copy(deep=True)
            for index, row in sorted(self.rows.get(batch_id, {}).items())
            if index >= first and (last is None or index <= last)
        ]
        return header, rows

    def record(self, batch_id: str, outcomes: list[RowOutcome]) -> None:
        # A merge whose None columns are not written: an outcome never clears the other one.
        stored = self.rows.setdefault(batch_id, {})
        for outcome in outcomes:
            before = stored.get(outcome.index) or BatchRow(index=outcome.index)
            stored[outcome.index] = before.model_copy(
                update={
                    "invitation_id": outcome.invitation_id if outcome.invitation_id is not None else before.invitation_id,
                    "error": outcome.error if outcome.error is not None else before.error,
                    "email_due_at": outcome.email_due_at if outcome.email_due_at is not None else before.email_due_at,
                }
            )


@dataclass(frozen=True)
class Member:
    """A company's member row: who, with which role, under which name, since when."""

    object_id: str
    email: str
    role: Role
    name: str
    created_at: datetime


class MemoryCompanies:
    def __init__(self) -> None:
        self.companies: dict[str, Company] = {}
        self.members: dict[str, list[Member]] = {}

    def insert(self, company: Company, *, role: Role, member_name: str, at: datetime) -> None:
        if company.id in self.companies:
            raise AlreadyExists(f"Company {company.id} already exists.", code="already-exists")
        user = company.created_by
        self.companies[company.id] = company.model_copy(deep=True)
        self.members[company.id] = [Member(user.object_id, user.email, role, member_name, at)]

    def get(self, company_id: str) -> Company | None:
        company = self.companies.get(company_id)
        return company.model_copy(deep=True) if company else None


class MemoryUsers:
    """The UserDirectory in memory; `down` makes it answer Unavailable, as storage down does."""

    def __init__(self) -> None:
        self.sign_ins: dict[str, tuple[SignedInUser, datetime]] = {}  # by object id: the latest sign-in wins
        self.down = False

    def record_sign_in(self, user: SignedInUser, at: datetime) -> None:
        if self.down:
            raise Unavailable("Storage cannot be reached (Users).", code="storage-unavailable")
        self.sign_ins[user.object_id] = (user.model_copy(), at)


@dataclass(frozen=True)
class Consent:
    tenant: str
    granted: bool
    error: str | None
    invitation_id: str | None
    at: datetime


class MemoryAdminConsents:
    def __init__(self) -> None:
        self.consents: list[Consent] = []  # every outcome, none replacing another

    def record(self, tenant: str, granted: bool, error: str | None, invitation_id: str | None, at: datetime) -> None:
        self.consents.append(Consent(tenant, granted, error, invitation_id, at))

    def granted(self, tenant_id: str) -> bool:
        return any(consent.granted and consent.tenant == tenant_id for consent in self.consents)


class MemoryEmailOperations:
    def __init__(self) -> None:
        self.invitations: dict[str, str] = {}

    def remember(self, operation_id: str, invitation_id: str) -> None:
        self.invitations[operation_id] = invitation_id

    def invitation_of(self, operation_id: str) -> str | None:
        return self.invitations.get(operation_id)


class MemorySendBudget:
    """The e-mail sending quota's counters in memory (one lock stands for the table's guarded writes)."""

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        self.minutes: Counter[datetime] = Counter()
        self.hours: Counter[datetime] = Counter()
        self._lock = threading.Lock()

    def reserve(self, now: datetime, *, bulk: bool) -> datetime:
        with self._lock:
            slot = next_slot(self.quota, self.minutes, self.hours, now, bulk=bulk)
            self.minutes[slot.minute] += 1
            self.hours[slot.hour] += 1
        return slot.at
