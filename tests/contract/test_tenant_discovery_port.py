"""The TenantDiscovery contract, held against the fake (tests/fakes/tenants.py) and the HTTP adapter
(shared.adapters.tenant_discovery) against a loopback stand-in for Entra's discovery documents."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shared.adapters.tenant_discovery import CONSUMERS_TENANT_ID, EntraTenantDiscovery
from shared.domain.errors import Unavailable
from shared.services.ports import TenantDiscovery
from tests.fakes.entra_discovery import EntraDiscoveryServer
from tests.fakes.tenants import FakeTenantDiscovery

TENANT = "3F1C2A9E-4B7D-4E21-9C3A-8D5E6F7A8B9C"
TENANTS = {"contoso.example": TENANT}


@pytest.fixture(scope="module")
def entra() -> Iterator[EntraDiscoveryServer]:
    tenants = TENANTS | {"outlook.example": CONSUMERS_TENANT_ID}
    with EntraDiscoveryServer(tenants, slow=frozenset({"slow.example"}), broken=frozenset({"broken.example"})) as server:
        yield server


@pytest.fixture(params=["fake", "entra"])
def discovery(request: pytest.FixtureRequest, entra: EntraDiscoveryServer) -> TenantDiscovery:
    if request.param == "fake":
        return FakeTenantDiscovery({domain: tenant.lower() for domain, tenant in TENANTS.items()})
    return EntraTenantDiscovery(entra.url + "/")


def test_a_verified_domain_names_its_tenant_in_lower_case(discovery: TenantDiscovery) -> None:
    assert discovery.tenant_of("contoso.example") == TENANT.lower()


def test_a_domain_no_tenant_verified_has_none(discovery: TenantDiscovery) -> None:
    assert discovery.tenant_of("gmail.example") is None


def test_the_consumer_tenant_is_no_work_tenant(entra: EntraDiscoveryServer) -> None:
    assert EntraTenantDiscovery(entra.url).tenant_of("outlook.example") is None


def test_a_slow_answer_is_unavailable_within_the_timeout(entra: EntraDiscoveryServer) -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        EntraTenantDiscovery(entra.url).tenant_of("slow.example")
    assert time.monotonic() - started < entra.delay


def test_a_failing_answer_is_unavailable(entra: EntraDiscoveryServer) -> None:
    with pytest.raises(Unavailable):
        EntraTenantDiscovery(entra.url).tenant_of("broken.example")


def test_an_unreachable_host_is_unavailable() -> None:
    with EntraDiscoveryServer({}) as gone:
        url = gone.url
    with pytest.raises(Unavailable):
        EntraTenantDiscovery(url).tenant_of("contoso.example")
