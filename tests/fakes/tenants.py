"""The tenant lookup's ports in memory: Entra's discovery answers a test sets, and the kept lookups
and tenant index (TenantStore's tables)."""

from __future__ import annotations

from datetime import datetime

from shared.domain.errors import Unavailable
from shared.services.ports import KnownDomain


class FakeTenantDiscovery:
    """`tenants` maps a domain to its work tenant id; any other domain has none. `down`: every lookup
    fails as a timeout would."""

    def __init__(self, tenants: dict[str, str] | None = None) -> None:
        self.tenants = dict(tenants or {})
        self.down = False
        self.lookups: list[str] = []

    def tenant_of(self, domain: str) -> str | None:
        self.lookups.append(domain)
        if self.down:
            raise Unavailable(f"Tenant discovery for {domain} timed out.", code="discovery-unavailable")
        return self.tenants.get(domain)


class MemoryTenantDirectory:
    def __init__(self) -> None:
        self.domains: dict[str, KnownDomain] = {}
        self.by_tenant: dict[str, list[str]] = {}

    def known(self, domain: str) -> KnownDomain | None:
        return self.domains.get(domain)

    def remember(self, domain: str, tenant_id: str | None, at: datetime) -> None:
        self.domains[domain] = KnownDomain(tenant_id, at)

    def add(self, tenant_id: str, invitation_id: str) -> None:
        listed = self.by_tenant.setdefault(tenant_id, [])
        if invitation_id not in listed:
            listed.append(invitation_id)

    def invitations(self, tenant_id: str) -> list[str]:
        return sorted(self.by_tenant.get(tenant_id, []))
