"""The work tenant of each e-mail domain as last looked up (table TenantDomains), and the invitations
of each tenant (table InvitationsByTenant), so a tenant's consent finds its pending invitations."""

from datetime import datetime

from azure.data.tables import TableServiceClient

from shared.adapters.tables import INVITATIONS_BY_TENANT, TENANT_DOMAINS, Table
from shared.domain.errors import NotFound
from shared.services.ports import KnownDomain


class TenantStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.domains = Table(service, TENANT_DOMAINS)
        self.by_tenant = Table(service, INVITATIONS_BY_TENANT)

    def known(self, domain: str) -> KnownDomain | None:
        try:
            entity = self.domains.run(lambda t: t.get_entity(domain, ""), f"Tenant of {domain}")
        except NotFound:
            return None
        return KnownDomain(entity["TenantId"] or None, entity["CheckedAt"])

    def remember(self, domain: str, tenant_id: str | None, at: datetime) -> None:
        entity = {"PartitionKey": domain, "RowKey": "", "TenantId": tenant_id or "", "CheckedAt": at}
        self.domains.run(lambda t: t.upsert_entity(entity), f"Tenant of {domain}")

    def add(self, tenant_id: str, invitation_id: str) -> None:
        entity = {"PartitionKey": tenant_id, "RowKey": invitation_id}
        self.by_tenant.run(lambda t: t.upsert_entity(entity), f"Invitation {invitation_id} of tenant {tenant_id}")

    def invitations(self, tenant_id: str) -> list[str]:
        query = "PartitionKey eq @tenant"
        return self.by_tenant.run(
            lambda t: [str(e["RowKey"]) for e in t.query_entities(query, parameters={"tenant": tenant_id}, select=["RowKey"])],
            f"Invitations of tenant {tenant_id}",
        )
