"""CASE 1: an Entra ID tenant's admin consent for the app behind B2C's work-account sign-in."""

import logging
import re
from urllib.parse import urlencode

from shared.domain.errors import DomainError, InvalidInput
from shared.services.ports import AdminConsentLog, Clock
from shared.services.work_accounts import WorkAccountService

log = logging.getLogger(__name__)

_TENANT_ID = r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
_TENANT = re.compile(rf"organizations|common|{_TENANT_ID}|([a-zA-Z0-9-]{{1,63}}\.)+[a-zA-Z]{{2,63}}")


def valid_tenant(tenant: str) -> bool:
    """A tenant GUID, a verified domain (contoso.com), or organizations/common; the whole string
    (`$` would let a trailing newline through, which Table Storage then refuses as a key)."""
    return bool(_TENANT.fullmatch(tenant))


def is_tenant_id(tenant: str) -> bool:
    return bool(re.fullmatch(_TENANT_ID, tenant))


def outcome_tenant(issued_for: str, reported: str | None, *, granted: bool) -> str:
    """The tenant an admin-consent outcome is recorded for, or InvalidInput.

    `issued_for` comes from the sealed state of our consent link, `reported` from Entra's redirect
    (a tenant id; absent on its error redirect, so a decline is recorded for the link's tenant). A
    link issued for a tenant id records only that tenant. A link for a domain or organizations
    lets the administrator's sign-in choose the tenant: its grant is recorded for the tenant Entra
    reports (the app cannot map a domain to its tenant id without asking Entra)."""
    if reported is not None and not is_tenant_id(reported):
        raise InvalidInput("The tenant in Entra's answer is not a tenant id.", code="bad-tenant")
    if is_tenant_id(issued_for):
        if reported is not None and reported.lower() != issued_for.lower():
            raise InvalidInput("This consent link was issued for another tenant.", code="other-tenant")
        return issued_for.lower()
    if reported is None:
        if granted:
            raise InvalidInput("A grant names the tenant that gave it.", code="bad-tenant")
        return issued_for
    return reported.lower()


class AdminConsentService:
    def __init__(
        self,
        store: AdminConsentLog,
        clock: Clock,
        work_accounts: WorkAccountService,
        *,
        login_host: str,
        client_id: str,
        callback_url: str,
    ) -> None:
        self.store, self.clock, self._work_accounts = store, clock, work_accounts
        self._login_host, self._client_id, self._callback_url = login_host.rstrip("/"), client_id, callback_url

    def consent_url(self, tenant: str, state: str) -> str:
        """Entra ID's admin-consent page for `tenant`, coming back to our callback with `state`."""
        query = urlencode({"client_id": self._client_id, "redirect_uri": self._callback_url, "state": state})
        return f"{self._login_host}/{tenant}/adminconsent?{query}"

    def record(self, tenant: str, granted: bool, error: str | None, invitation_id: str | None) -> None:
        """Record the outcome; a grant then updates the tenant's pending invitations and tells their
        invitees (if that fails, the grant stands: their next e-mail finds it)."""
        self.store.record(tenant, granted, error, invitation_id, self.clock())
        if granted and is_tenant_id(tenant):
            try:
                self._work_accounts.tenant_consented(tenant)
            except DomainError as error:
                log.warning("Pending invitations of tenant %s not updated (%s)", tenant, error)
