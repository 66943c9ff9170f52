"""Azure Table Storage access: one TableServiceClient per process, tables created once.

Tables and keys (the README explains why):
- Invitations: PartitionKey = invitation id. RowKey "invitation" holds the invitation,
  RowKey "audit-{time}-{rand}" its audit events, so a transition and its audit entry
  commit in one entity-group transaction guarded by the invitation's ETag.
- IdempotencyKeys: PartitionKey = SHA-256 of the Idempotency-Key header.
- AuthFlows: PartitionKey = OAuth state; the MSAL flow, consumed once.
- Companies: PartitionKey = company id; RowKey "company" and "member-{object id}".
- Users: PartitionKey = B2C object id.
- AdminConsents: PartitionKey = Entra tenant id; RowKey = timestamped consent result.
"""

from contextlib import suppress
from functools import lru_cache

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.settings import get_settings

INVITATIONS = "Invitations"
IDEMPOTENCY_KEYS = "IdempotencyKeys"
AUTH_FLOWS = "AuthFlows"
COMPANIES = "Companies"
USERS = "Users"
ADMIN_CONSENTS = "AdminConsents"
ALL_TABLES = (INVITATIONS, IDEMPOTENCY_KEYS, AUTH_FLOWS, COMPANIES, USERS, ADMIN_CONSENTS)


@lru_cache
def _service() -> TableServiceClient:
    service = TableServiceClient.from_connection_string(
        get_settings().tables_connection_string.get_secret_value()
    )
    for name in ALL_TABLES:
        with suppress(ResourceExistsError):
            service.create_table(name)
    return service


@lru_cache
def table(name: str) -> TableClient:
    """A client for one of ALL_TABLES (they all exist once this returns)."""
    return _service().get_table_client(name)
