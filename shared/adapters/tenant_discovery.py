"""Which Microsoft Entra tenant verified an e-mail domain: the tenant's OpenID discovery document by
domain (`{login host}/{domain}/v2.0/.well-known/openid-configuration`), whose issuer names the tenant
id; Entra answers 400 for a domain no tenant has verified."""

import re

import requests

from shared.domain.errors import Unavailable

# outlook.com, hotmail.com, live.com…: personal Microsoft accounts, whose tenant no administrator runs.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
_ISSUER = re.compile(r"https://[^/]+/([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})/v2\.0/?")
# The e-mail worker waits for this: a slow answer costs the lookup (consent unknown), not the e-mail.
TIMEOUT_SECONDS = (1.0, 2.0)  # connect, read


class EntraTenantDiscovery:
    def __init__(self, login_host: str, session: requests.Session | None = None) -> None:
        self._login_host = login_host.rstrip("/")
        self._session = session or requests.Session()

    def tenant_of(self, domain: str) -> str | None:
        url = f"{self._login_host}/{domain}/v2.0/.well-known/openid-configuration"
        try:
            response = self._session.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        except requests.RequestException as error:
            raise Unavailable(f"Tenant discovery for {domain} failed ({type(error).__name__}).", code="discovery-unavailable") from error
        if response.status_code == 400:
            return None
        if response.status_code != 200:
            raise Unavailable(f"Tenant discovery for {domain} answered {response.status_code}.", code="discovery-unavailable")
        try:
            issuer = str(response.json()["issuer"])
        except (ValueError, KeyError, TypeError) as error:
            raise Unavailable(f"Tenant discovery for {domain} answered no issuer.", code="discovery-unavailable") from error
        match = _ISSUER.fullmatch(issuer)
        if match is None:
            raise Unavailable(f"Tenant discovery for {domain} answered an issuer without a tenant id.", code="discovery-unavailable")
        tenant_id = match.group(1).lower()
        return None if tenant_id == CONSUMERS_TENANT_ID else tenant_id
