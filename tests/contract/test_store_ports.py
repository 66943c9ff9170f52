"""One contract per table port (shared/services/ports.py), held against the in-memory fake
(tests/fakes/stores.py) and the Table Storage adapter on Azurite, so the fakes the service tests
use cannot drift from what the app runs on. The Azurite params are marked `azurite`.

What a port stores but never reads back (a company's member, a user's sign-in, a consent) is
checked through a reader per backend: the fake's attributes, or the adapter's table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from shared.adapters.tables import ADMIN_CONSENTS, COMPANIES, USERS
from shared.adapters.tables.admin_consents import AdminConsentStore
from shared.adapters.tables.batches import BatchStore
from shared.adapters.tables.companies import CompanyStore
from shared.adapters.tables.email_operations import EmailOperationStore
from shared.adapters.tables.tenants import TenantStore
from shared.adapters.tables.users import UserStore
from shared.domain.batches import TRANSACTION_ROWS, BatchHeader, BatchRow, RowOutcome
from shared.domain.errors import AlreadyExists, NotFound
from shared.domain.models import Company, CompanyData, FieldError, InvitationRequest, SignedInUser
from shared.services.ports import (
    AdminConsentLog,
    BatchRepository,
    CompanyRepository,
    EmailOperations,
    KnownDomain,
    TenantDirectory,
    UserDirectory,
)
from tests.contract.conftest import IMPLEMENTATIONS
from tests.fakes.stores import MemoryAdminConsents, MemoryBatches, MemoryCompanies, MemoryEmailOperations, MemoryUsers
from tests.fakes.tenants import MemoryTenantDirectory
from tests.support import invitation_body

NOW = datetime(2030, 1, 15, 9, 30, tzinfo=UTC)


@pytest.fixture(params=IMPLEMENTATIONS)
def backend(request: pytest.FixtureRequest) -> TableServiceClient | None:
    """None for the fakes, the Azurite table service for the adapters (started only when needed)."""
    return None if request.param == "memory" else request.getfixturevalue("azurite_clients")[0]


def unique() -> str:
    return str(uuid.uuid4())


def partition(tables: TableServiceClient, table: str, key: str) -> list[dict[str, Any]]:
    return list(tables.get_table_client(table).query_entities("PartitionKey eq @pk", parameters={"pk": key}))


# -- BatchRepository ---------------------------------------------------------------------------------


@pytest.fixture
def batches(backend: TableServiceClient | None) -> BatchRepository:
    return MemoryBatches() if backend is None else BatchStore(backend)


def header(batch_id: str | None = None, *, created_at: datetime = NOW, total: int = 3, request_hash: str = "hash-1") -> BatchHeader:
    return BatchHeader(
        id=batch_id or unique(), handling="lenient", actor="staff", created_at=created_at, total=total, request_hash=request_hash
    )


def valid_row(index: int) -> BatchRow:
    return BatchRow(index=index, request=InvitationRequest.model_validate(invitation_body()))


def rejected_row(index: int) -> BatchRow:
    return BatchRow(index=index, errors=[FieldError(pointer=f"/rows/{index}/invitee/email", detail="not an e-mail address")])


def rows(count: int) -> list[BatchRow]:
    return [valid_row(index) if index % 3 else rejected_row(index) for index in range(count)]


def test_begin_stores_the_header_and_rows_as_given(batches: BatchRepository) -> None:
    batch, given = header(), rows(3)
    assert batches.begin(batch, given) == []
    assert batches.header(batch.id) == batch
    assert batches.load(batch.id) == (batch, given)
    assert [row.status for row in batches.load(batch.id)[1]] == ["rejected", "queued", "queued"]


def test_begin_writes_the_first_transaction_and_leaves_the_rest_to_write_rows(batches: BatchRepository) -> None:
    batch, given = header(total=150), rows(150)
    rest = batches.begin(batch, given)
    assert rest == given[TRANSACTION_ROWS - 1 :], "the header takes one of the first transaction's 100 operations"
    assert batches.load(batch.id)[1] == given[: TRANSACTION_ROWS - 1]
    batches.write_rows(batch.id, rest)
    assert batches.load(batch.id)[1] == given


def test_a_second_begin_of_a_batch_is_already_exists_and_writes_nothing(batches: BatchRepository) -> None:
    batch = header(total=2)
    batches.begin(batch, [valid_row(0)])
    with pytest.raises(AlreadyExists):
        batches.begin(header(batch.id, total=2, request_hash="another"), [rejected_row(0), valid_row(1)])
    stored, stored_rows = batches.load(batch.id)
    assert stored.request_hash == "hash-1" and [row.index for row in stored_rows] == [0] and stored_rows[0].request is not None


def test_an_unknown_batch_is_not_found(batches: BatchRepository) -> None:
    with pytest.raises(NotFound):
        batches.header(unique())
    with pytest.raises(NotFound):
        batches.load(unique())


def test_load_reads_a_range_of_rows_in_index_order(batches: BatchRepository) -> None:
    batch, given = header(total=12), rows(12)
    batches.begin(batch, list(reversed(given)))
    assert batches.load(batch.id, 3, 4) == (batch, given[3:7])
    assert batches.load(batch.id, 10)[1] == given[10:], "no count: to the last row"
    assert batches.load(batch.id, 10, 5)[1] == given[10:], "a count past the end: to the last row"
    assert batches.load(batch.id, 12, 5)[1] == []
    assert batches.load(batch.id, 0, 0)[1] == []


def test_record_merges_outcomes_into_their_rows(batches: BatchRepository) -> None:
    batch, given = header(total=3), rows(3)
    batches.begin(batch, given)
    batches.record(batch.id, [RowOutcome(index=1, invitation_id="inv-1"), RowOutcome(index=2, error="duplicate")])
    _, stored = batches.load(batch.id)
    assert [(row.status, row.invitation_id, row.error) for row in stored] == [
        ("rejected", None, None),
        ("created", "inv-1", None),
        ("failed", None, "duplicate"),
    ]
    assert [row.request for row in stored] == [row.request for row in given], "the request stays"
    assert stored[0].errors == given[0].errors


def test_outcomes_of_more_rows_than_a_transaction_holds_are_all_recorded(batches: BatchRepository) -> None:
    batch, given = header(total=250), [valid_row(index) for index in range(250)]
    batches.write_rows(batch.id, batches.begin(batch, given))
    batches.record(batch.id, [RowOutcome(index=index, invitation_id=f"inv-{index}") for index in range(250)])
    assert [row.invitation_id for row in batches.load(batch.id)[1]] == [f"inv-{index}" for index in range(250)]


def test_an_outcome_does_not_clear_the_other_outcome_of_its_row(batches: BatchRepository) -> None:
    # A merge writes no column for None: a row that failed and later got its invitation keeps both.
    batch = header(total=1)
    batches.begin(batch, [valid_row(0)])
    batches.record(batch.id, [RowOutcome(index=0, error="storage unavailable")])
    batches.record(batch.id, [RowOutcome(index=0, invitation_id="inv-0")])
    [row] = batches.load(batch.id)[1]
    assert (row.invitation_id, row.error, row.status) == ("inv-0", "storage unavailable", "created")


def test_record_of_a_row_never_stored_creates_it_failed(batches: BatchRepository) -> None:
    batch = header(total=2)
    batches.begin(batch, [valid_row(0)])
    batches.record(batch.id, [RowOutcome(index=1, error="never stored")])
    [_, row] = batches.load(batch.id)[1]
    assert (row.index, row.request, row.errors, row.error, row.status) == (1, None, [], "never stored", "failed")


def test_writing_rows_again_keeps_the_workers_outcomes(batches: BatchRepository) -> None:
    batch, given = header(total=2), [valid_row(0), valid_row(1)]
    batches.begin(batch, given)
    batches.record(batch.id, [RowOutcome(index=0, invitation_id="inv-0")])
    batches.write_rows(batch.id, given)  # a replay of the request finishing the hand-over
    _, stored = batches.load(batch.id)
    assert [(row.request, row.invitation_id) for row in stored] == [(given[0].request, "inv-0"), (given[1].request, None)]


def test_outstanding_lists_batches_created_before_the_cutoff_until_handed_over(batches: BatchRepository) -> None:
    old, due, recent = header(created_at=NOW - timedelta(hours=1)), header(created_at=NOW - timedelta(seconds=1)), header(created_at=NOW)
    for batch in (old, due, recent):
        batches.begin(batch, [valid_row(0)])
    ours = {old.id, due.id, recent.id}

    def outstanding() -> list[BatchHeader]:
        return sorted((header for header in batches.outstanding(NOW) if header.id in ours), key=lambda header: header.created_at)

    assert outstanding() == [old, due]
    batches.mark_enqueued(old)
    assert outstanding() == [due]
    assert batches.header(old.id) == old.model_copy(update={"enqueued": True})


def test_a_batch_begun_handed_over_is_never_outstanding(batches: BatchRepository) -> None:
    batch = header(created_at=NOW - timedelta(hours=1)).model_copy(update={"enqueued": True})
    batches.begin(batch, [valid_row(0)])
    assert batch.id not in {header.id for header in batches.outstanding(NOW)}


def test_what_load_returns_is_a_copy(batches: BatchRepository) -> None:
    batch = header(total=1)
    batches.begin(batch, [valid_row(0)])
    _, [row] = batches.load(batch.id)
    row.invitation_id = "changed by the caller"
    assert batches.load(batch.id)[1][0].invitation_id is None


# -- CompanyRepository -------------------------------------------------------------------------------

Members = Callable[[str], list[tuple[str, str, str, str]]]  # (object id, e-mail, role, name) of a company's members


@dataclass(frozen=True)
class Companies:
    port: CompanyRepository
    members: Members


@pytest.fixture
def companies(backend: TableServiceClient | None) -> Companies:
    if backend is None:
        fake = MemoryCompanies()
        return Companies(fake, lambda id: [(m.object_id, m.email, m.role, m.name) for m in fake.members.get(id, [])])

    def members(company_id: str) -> list[tuple[str, str, str, str]]:
        rows = partition(backend, COMPANIES, company_id)
        return [
            (row["RowKey"].removeprefix("member-"), row["Email"], row["Role"], row["Name"]) for row in rows if row["RowKey"] != "company"
        ]

    return Companies(CompanyStore(backend), members)


def user(object_id: str | None = None, email: str = "anna.keller@contoso.example") -> SignedInUser:
    return SignedInUser(object_id=object_id or unique(), email=email, name="Anna Keller", account_type="local")


def company(company_id: str | None = None, *, name: str = "Contoso AG") -> Company:
    data = CompanyData.model_validate({**invitation_body()["company"], "name": name})
    return Company(id=company_id or unique(), invitation_id=unique(), data=data, created_at=NOW, created_by=user())


def test_a_company_is_stored_with_its_first_member(companies: Companies) -> None:
    created = company()
    companies.port.insert(created, role="admin", member_name="Anna K.", at=NOW)
    assert companies.port.get(created.id) == created
    owner = created.created_by
    assert companies.members(created.id) == [(owner.object_id, owner.email, "admin", "Anna K.")]


def test_a_company_inserted_again_is_already_exists_and_keeps_the_first(companies: Companies) -> None:
    created = company()
    companies.port.insert(created, role="admin", member_name="Anna", at=NOW)
    with pytest.raises(AlreadyExists):
        companies.port.insert(company(created.id, name="Other GmbH"), role="user", member_name="Other", at=NOW)
    stored = companies.port.get(created.id)
    assert stored is not None and stored.data.name == "Contoso AG"
    assert [member[2:] for member in companies.members(created.id)] == [("admin", "Anna")]


def test_an_unknown_company_is_none(companies: Companies) -> None:
    assert companies.port.get(unique()) is None


# -- UserDirectory -----------------------------------------------------------------------------------

LastSignIn = Callable[[str], tuple[str, str, datetime] | None]  # (e-mail, account type, when) by object id


@dataclass(frozen=True)
class Users:
    port: UserDirectory
    last_sign_in: LastSignIn


@pytest.fixture
def users(backend: TableServiceClient | None) -> Users:
    if backend is None:
        fake = MemoryUsers()

        def remembered(object_id: str) -> tuple[str, str, datetime] | None:
            signed_in = fake.sign_ins.get(object_id)
            return (signed_in[0].email, signed_in[0].account_type, signed_in[1]) if signed_in else None

        return Users(fake, remembered)

    def stored(object_id: str) -> tuple[str, str, datetime] | None:
        rows = partition(backend, USERS, object_id)
        return (rows[0]["Email"], rows[0]["AccountType"], rows[0]["LastSignInAt"]) if rows else None

    return Users(UserStore(backend), stored)


def test_the_latest_sign_in_of_an_account_wins(users: Users) -> None:
    anna = user()
    users.port.record_sign_in(anna, NOW)
    users.port.record_sign_in(anna.model_copy(update={"email": "anna@new.example", "account_type": "work"}), NOW + timedelta(days=1))
    assert users.last_sign_in(anna.object_id) == ("anna@new.example", "work", NOW + timedelta(days=1))
    assert users.last_sign_in(unique()) is None


# -- AdminConsentLog ---------------------------------------------------------------------------------

ConsentsOf = Callable[[str], list[tuple[bool, str | None, str | None, datetime]]]  # (granted, error, invitation id, when)


@dataclass(frozen=True)
class Consents:
    port: AdminConsentLog
    of: ConsentsOf


@pytest.fixture
def consents(backend: TableServiceClient | None) -> Consents:
    if backend is None:
        fake = MemoryAdminConsents()
        return Consents(fake, lambda tenant: [(c.granted, c.error, c.invitation_id, c.at) for c in fake.consents if c.tenant == tenant])

    def stored(tenant: str) -> list[tuple[bool, str | None, str | None, datetime]]:
        return [
            (row["Granted"], row["Error"] or None, row["InvitationId"] or None, row["At"])
            for row in partition(backend, ADMIN_CONSENTS, tenant)
        ]

    return Consents(AdminConsentStore(backend), stored)


def test_every_consent_outcome_is_kept_even_at_the_same_instant(consents: Consents) -> None:
    tenant = unique()
    consents.port.record(tenant, False, "access_denied", None, NOW)
    consents.port.record(tenant, True, None, "inv-1", NOW)
    assert sorted(consents.of(tenant)) == [(False, "access_denied", None, NOW), (True, None, "inv-1", NOW)]
    assert consents.of(unique()) == []


# -- EmailOperations ---------------------------------------------------------------------------------


@pytest.fixture
def operations(backend: TableServiceClient | None) -> EmailOperations:
    return MemoryEmailOperations() if backend is None else EmailOperationStore(backend)


def test_an_operation_leads_back_to_its_invitation(operations: EmailOperations) -> None:
    operation, invitation = unique(), unique()
    operations.remember(operation, invitation)
    operations.remember(operation, invitation)  # a redelivered queue message
    assert operations.invitation_of(operation) == invitation
    assert operations.invitation_of(unique()) is None


# -- TenantDirectory ---------------------------------------------------------------------------------


@pytest.fixture
def tenant_directory(backend: TableServiceClient | None) -> TenantDirectory:
    return MemoryTenantDirectory() if backend is None else TenantStore(backend)


def test_a_domain_lookup_is_kept_with_its_time_and_replaced_by_the_next(tenant_directory: TenantDirectory) -> None:
    domain, tenant = f"{unique()}.example", unique()
    assert tenant_directory.known(domain) is None
    tenant_directory.remember(domain, None, NOW)
    assert tenant_directory.known(domain) == KnownDomain(None, NOW)
    tenant_directory.remember(domain, tenant, NOW + timedelta(days=1))
    assert tenant_directory.known(domain) == KnownDomain(tenant, NOW + timedelta(days=1))


def test_a_tenants_invitations_are_listed_once_each(tenant_directory: TenantDirectory) -> None:
    tenant, other = unique(), unique()
    first, second = sorted([unique(), unique()])
    for invitation_id in (second, first, second):
        tenant_directory.add(tenant, invitation_id)
    tenant_directory.add(other, unique())
    assert tenant_directory.invitations(tenant) == [first, second]
    assert tenant_directory.invitations(unique()) == []


def test_only_a_grant_counts_as_consent(backend: TableServiceClient | None) -> None:
    consents: AdminConsentLog = MemoryAdminConsents() if backend is None else AdminConsentStore(backend)
    tenant = unique()
    consents.record(tenant, False, "access_denied", None, NOW)
    assert not consents.granted(tenant)
    consents.record(tenant, True, None, None, NOW + timedelta(minutes=1))
    assert consents.granted(tenant) and not consents.granted(unique())
