"""CASE 1: an Entra ID tenant's admin consent for the app behind B2C's work-account sign-in."""

import re
import secrets
from urllib.parse import urlencode

from shared.clock import utcnow
from shared.settings import get_settings
from shared.storage import ADMIN_CONSENTS, table

_TENANT = re.compile(
    r"^(organizations|common|[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63})$"
)


def valid_tenant(tenant: str) -> bool:
    """A tenant GUID, a verified domain (contoso.com), or organizations/common."""
    return bool(_TENANT.match(tenant))


def callback_url() -> str:
    return f"{get_settings().base_url}/api/AdminConsent/callback"


def consent_url(tenant: str, state: str) -> str:
    settings = get_settings()
    query = urlencode({"client_id": settings.entra_client_id, "redirect_uri": callback_url(), "state": state})
    return f"{str(settings.entra_login_host).rstrip('/')}/{tenant}/adminconsent?{query}"


def record(tenant: str, granted: bool, error: str | None, invitation_id: str | None) -> None:
    now = utcnow()
    table(ADMIN_CONSENTS).create_entity(
        {
            "PartitionKey": tenant,
            "RowKey": f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{secrets.token_hex(4)}",
            "Granted": granted,
            "Error": error or "",
            "InvitationId": invitation_id or "",
            "At": now,
        }
    )
