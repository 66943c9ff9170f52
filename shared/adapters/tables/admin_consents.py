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
