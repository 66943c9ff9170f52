"""Outcomes of Entra ID admin consent, per tenant (table AdminConsents)."""

import secrets
from datetime import datetime

from azure.data.tables import TableServiceClient

from shared.adapters.tables import ADMIN_CONSENTS, Table


class AdminConsentStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, ADMIN_CONSENTS)

    def record(self, tenant: str, granted: bool, error: str | None, invitation_id: str | None, at: datetime) -> None:
        entity = {
            "PartitionKey": tenant,
            "RowKey": f"{at.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}",
            "Granted": granted,
            "Error": error or "",
            "InvitationId": invitation_id or "",
            "At": at,
        }
        self.table.insert(entity, f"Admin consent of {tenant}")

    def granted(self, tenant_id: str) -> bool:
        query = "PartitionKey eq @tenant and Granted eq true"
        return self.table.run(
            lambda t: any(True for _ in t.query_entities(query, parameters={"tenant": tenant_id}, select=["RowKey"], results_per_page=1)),
            f"Admin consents of {tenant_id}",
        )
