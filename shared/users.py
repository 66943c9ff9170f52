"""People who signed in through an invitation, by B2C object id."""

from shared.clock import utcnow
from shared.models import SignedInUser
from shared.storage import USERS, table


def record_sign_in(user: SignedInUser) -> None:
    table(USERS).upsert_entity(
        {
            "PartitionKey": user.object_id,
            "RowKey": "",
            "Email": user.email,
            "Name": user.name,
            "AccountType": user.account_type,
            "IdentityProvider": user.identity_provider or "",
            "HomeTenantId": user.home_tenant_id or "",
            "LastSignInAt": utcnow(),
        }
    )
