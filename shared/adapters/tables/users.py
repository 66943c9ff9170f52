"""People who signed in through an invitation, by B2C object id (table Users)."""

from datetime import datetime

from azure.data.tables import TableServiceClient

from shared.adapters.tables import USERS, Table
from shared.domain.models import SignedInUser


class UserStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, USERS)

    def record_sign_in(self, user: SignedInUser, at: datetime) -> None:
        # An upsert: the latest sign-in wins, nothing to guard.
        entity = {
            "PartitionKey": user.object_id,
            "RowKey": "",
            "Email": user.email,
            "Name": user.name,
            "AccountType": user.account_type,
            "IdentityProvider": user.identity_provider or "",
            "HomeTenantId": user.home_tenant_id or "",
            "LastSignInAt": at,
        }
        self.table.run(lambda t: t.upsert_entity(entity), f"User {user.object_id}")
