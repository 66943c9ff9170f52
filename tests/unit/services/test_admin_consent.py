"""AdminConsentService and its tenant rules: which tenant a consent link may name, and which tenant
an outcome is recorded for."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.domain.errors import InvalidInput
from shared.services.admin_consent import AdminConsentService, outcome_tenant, valid_tenant
from shared.services.work_accounts import WorkAccountService
from tests.fakes.memory import MemoryQueues, SettableClock
from tests.fakes.stores import Consent, MemoryAdminConsents
from tests.fakes.tenants import FakeTenantDiscovery, MemoryTenantDirectory
from tests.unit.services_on_fakes import Fakes

TENANT = "72F988BF-86F1-41AF-91AB-2D7CD011DB47"
OTHER = "0b2e7a52-0c1d-4a3e-9f8b-7c6d5e4f3a21"
CALLBACK = "https://invite.rconnect.example/api/AdminConsent/callback"


@pytest.mark.parametrize("tenant", [TENANT, TENANT.lower(), "contoso.com", "eu.contoso-group.co.uk", "organizations", "common"])
def test_a_tenant_id_a_domain_or_organizations_is_a_valid_tenant(tenant: str) -> None:
    assert valid_tenant(tenant)


@pytest.mark.parametrize(
    "tenant",
    [
        "",
        "contoso",
        f"{TENANT}\n",
        "contoso.com\n",
        " contoso.com",
        "contoso.com/evil",
        "72f988bf-86f1-41af-91ab",
        "consumers",
        "a" * 64 + ".com",
    ],
)
def test_anything_else_is_not_a_tenant(tenant: str) -> None:
    assert not valid_tenant(tenant)


def test_a_link_for_a_tenant_id_records_that_tenant_in_lower_case() -> None:
    assert outcome_tenant(TENANT, TENANT.lower(), granted=True) == TENANT.lower()
    assert outcome_tenant(TENANT, None, granted=False) == TENANT.lower(), "Entra's error redirect names no tenant"


def test_a_link_for_a_tenant_id_refuses_another_tenants_answer() -> None:
    with pytest.raises(InvalidInput) as refused:
        outcome_tenant(TENANT, OTHER, granted=True)
    assert refused.value.code == "other-tenant"


@pytest.mark.parametrize("issued_for", ["contoso.com", "organizations"])
def test_a_link_for_a_domain_records_the_tenant_entra_reports(issued_for: str) -> None:
    assert outcome_tenant(issued_for, OTHER.upper(), granted=True) == OTHER


def test_a_decline_without_a_tenant_is_recorded_for_the_links_domain() -> None:
    assert outcome_tenant("contoso.com", None, granted=False) == "contoso.com"


def test_a_grant_without_a_tenant_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        outcome_tenant("contoso.com", None, granted=True)
    assert refused.value.code == "bad-tenant"


@pytest.mark.parametrize("issued_for", [TENANT, "contoso.com"])
def test_a_reported_tenant_that_is_no_tenant_id_is_refused(issued_for: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        outcome_tenant(issued_for, "contoso.com", granted=True)
    assert refused.value.code == "bad-tenant"


def service(store: MemoryAdminConsents, clock: SettableClock) -> AdminConsentService:
    work_accounts = WorkAccountService(
        Fakes(clock=clock).invitation_service(), FakeTenantDiscovery(), MemoryTenantDirectory(), store, MemoryQueues(clock)
    )
    return AdminConsentService(
        store, clock, work_accounts, login_host="https://login.microsoftonline.com/", client_id="app-id", callback_url=CALLBACK
    )


def test_the_consent_url_is_entras_admin_consent_page_for_the_tenant() -> None:
    url = urlsplit(service(MemoryAdminConsents(), SettableClock()).consent_url("contoso.com", "sealed-state"))
    assert (url.scheme, url.netloc, url.path) == ("https", "login.microsoftonline.com", "/contoso.com/adminconsent")
    assert parse_qs(url.query) == {"client_id": ["app-id"], "redirect_uri": [CALLBACK], "state": ["sealed-state"]}


def test_an_outcome_is_recorded_at_the_clocks_time() -> None:
    store, clock = MemoryAdminConsents(), SettableClock()
    service(store, clock).record(TENANT, False, "access_denied", "inv-1")
    assert store.consents == [Consent(TENANT, False, "access_denied", "inv-1", clock.now)]
