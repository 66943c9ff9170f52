"""CASE 1: an Entra ID tenant's admin consent for the app behind B2C's work-account sign-in."""

import re
from urllib.parse import urlencode

from shared.adapters.tables.admin_consents import AdminConsentStore
from shared.services import Clock

_TENANT = re.compile(
    r"organizations|common|[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}"
)


def valid_tenant(tenant: str) -> bool:
    """A tenant GUID, a verified domain (contoso.com), or organizations/common; the whole string
    (`$` would let a trailing newline through, which Table Storage then refuses as a key)."""
    return bool(_TENANT.fullmatch(tenant))


class AdminConsentService:
    def __init__(self, store: AdminConsentStore, clock: Clock, *, login_host: str, client_id: str, callback_url: str) -> None:
        self.store, self.clock = store, clock
        self._login_host, self._client_id, self._callback_url = login_host.rstrip("/"), client_id, callback_url

    def consent_url(self, tenant: str, state: str) -> str:
        """Entra ID's admin-consent page for `tenant`, coming back to our callback with `state`."""
        query = urlencode({"client_id": self._client_id, "redirect_uri": self._callback_url, "state": state})
        return f"{self._login_host}/{tenant}/adminconsent?{query}"

    def record(self, tenant: str, granted: bool, error: str | None, invitation_id: str | None) -> None:
        self.store.record(tenant, granted, error, invitation_id, self.clock())
