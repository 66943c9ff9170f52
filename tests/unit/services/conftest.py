"""The services other than InvitationService over the in-memory fakes (tests/fakes): no process, no
Azurite. Each is built on the invitation service of tests/unit/services_on_fakes.py and the fakes of
its own ports, which a test reaches through these fixtures."""

from __future__ import annotations

import pytest

from shared.domain.models import InvitationRequest, InvitationView, SignedInUser
from shared.presentation.invitation_email import ProductLinks
from shared.routes import Links
from shared.services.batches import BatchService
from shared.services.companies import CompanyService
from shared.services.invitation_email import InvitationEmailService
from shared.services.invitations import InvitationService
from shared.services.sign_in import SignInService
from shared.services.work_accounts import WorkAccountService
from tests.fakes.identity import FakeIdentityProvider
from tests.fakes.mail import MemoryEmailSender
from tests.fakes.stores import MemoryAdminConsents, MemoryBatches, MemoryCompanies, MemoryEmailOperations, MemoryUsers
from tests.fakes.tenants import FakeTenantDiscovery, MemoryTenantDirectory
from tests.support import invitation_body
from tests.unit.services_on_fakes import BASE_URL, Fakes, fakes, invitation_service  # noqa: F401  (fixtures)

PRODUCT = ProductLinks("My rConnect", "https://docs.rconnect.example/", "mailto:customer.success@rconnect.example")


def request(**overrides: object) -> InvitationRequest:
    return InvitationRequest.model_validate(invitation_body(**overrides))


def create(service: InvitationService, **overrides: object) -> InvitationView:
    view, created = service.create(request(**overrides), actor="staff", idempotency_key=None)
    assert created
    service.finish_handovers()  # its e-mail's intent is on the queue
    return view


def account(email: str, object_id: str = "oid-anna", account_type: str = "local") -> SignedInUser:
    return SignedInUser.model_validate({"objectId": object_id, "email": email, "name": "Anna Keller", "accountType": account_type})


@pytest.fixture
def batch_store() -> MemoryBatches:
    return MemoryBatches()


@pytest.fixture
def batches(fakes: Fakes, invitation_service: InvitationService, batch_store: MemoryBatches) -> BatchService:
    return BatchService(invitation_service, batch_store, fakes.queues, fakes.clock, fakes.budget)


@pytest.fixture
def company_store() -> MemoryCompanies:
    return MemoryCompanies()


@pytest.fixture
def companies(fakes: Fakes, invitation_service: InvitationService, company_store: MemoryCompanies) -> CompanyService:
    return CompanyService(invitation_service, company_store, fakes.queues, Links(BASE_URL), fakes.clock)


@pytest.fixture
def identity() -> FakeIdentityProvider:
    return FakeIdentityProvider()


@pytest.fixture
def users() -> MemoryUsers:
    return MemoryUsers()


@pytest.fixture
def sign_in(fakes: Fakes, invitation_service: InvitationService, users: MemoryUsers, identity: FakeIdentityProvider) -> SignInService:
    """REQUIRE_MATCHING_EMAIL on, its default."""
    return SignInService(invitation_service, users, identity, fakes.clock, require_matching_email=True)


@pytest.fixture
def mail() -> MemoryEmailSender:
    return MemoryEmailSender()


@pytest.fixture
def operations() -> MemoryEmailOperations:
    return MemoryEmailOperations()


CONTOSO_TENANT = "3f1c2a9e-4b7d-4e21-9c3a-8d5e6f7a8b9c"  # the work tenant of tests.support's invitees' domain


def work_accounts_over(service: InvitationService, fakes: Fakes) -> WorkAccountService:
    """The e-mail worker's tenant lookup over fakes of its own, for a test that builds its own services."""
    discovery = FakeTenantDiscovery({"contoso.example": CONTOSO_TENANT})
    return WorkAccountService(service, discovery, MemoryTenantDirectory(), MemoryAdminConsents(), fakes.queues)


@pytest.fixture
def discovery() -> FakeTenantDiscovery:
    """Entra as the tests see it: contoso.example belongs to a work tenant (which has not consented), no other domain does."""
    return FakeTenantDiscovery({"contoso.example": CONTOSO_TENANT})


@pytest.fixture
def tenant_directory() -> MemoryTenantDirectory:
    return MemoryTenantDirectory()


@pytest.fixture
def consent_log() -> MemoryAdminConsents:
    return MemoryAdminConsents()


@pytest.fixture
def work_accounts(
    fakes: Fakes,
    invitation_service: InvitationService,
    discovery: FakeTenantDiscovery,
    tenant_directory: MemoryTenantDirectory,
    consent_log: MemoryAdminConsents,
) -> WorkAccountService:
    return WorkAccountService(invitation_service, discovery, tenant_directory, consent_log, fakes.queues)


@pytest.fixture
def emails(
    fakes: Fakes,
    invitation_service: InvitationService,
    operations: MemoryEmailOperations,
    mail: MemoryEmailSender,
    work_accounts: WorkAccountService,
) -> InvitationEmailService:
    return InvitationEmailService(invitation_service, operations, mail, fakes.budget, work_accounts, product=PRODUCT)
