"""Entra ID access tokens for the staff API, validated in the app (Microsoft's "validate tokens in
your API" path; App Service Authentication in front is the other, see web/staff_identity.py).

PyJWT checks the RS256 signature against the tenant's keys (PyJWKClient: the JWKS named by the
OpenID configuration, cached and refetched when a token names an unknown key, i.e. after a key
rollover), the issuer from the same configuration, the audience, and the lifetime; then the app
role must be in `roles`. Tokens are never logged.
"""

import ssl
import threading
from dataclasses import dataclass
from os import environ
from typing import Any

import jwt
import requests

from shared.domain.errors import TokenRejected, Unavailable

STAFF_ROLE = "Invitations.Manage"  # the app role a staff token must carry
LEEWAY_SECONDS = 5  # clock skew tolerated on exp/nbf (Azure hosts keep time by NTP)
METADATA_TIMEOUT = (2, 3)


@dataclass(frozen=True)
class StaffPrincipal:
    actor: str  # who the audit names: preferred_username, else upn, else the object id
    object_id: str


def _tls_context() -> ssl.SSLContext:
    # PyJWKClient fetches with urllib: trust what requests (MSAL, the SDKs) trusts, the project CA locally.
    return ssl.create_default_context(cafile=environ.get("REQUESTS_CA_BUNDLE") or None)


class StaffTokens:
    def __init__(self, metadata_url: str, audience: str) -> None:
        self._metadata_url, self._audience = metadata_url, audience
        self._issuer: str | None = None
        self._keys: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    def _discover(self) -> tuple[str, jwt.PyJWKClient]:
        # Fetched on first use and kept; a failed fetch is not kept, the next request tries again.
        with self._lock:
            if self._issuer is None or self._keys is None:
                try:
                    response = requests.get(self._metadata_url, timeout=METADATA_TIMEOUT)
                    response.raise_for_status()
                    metadata = response.json()
                    issuer, jwks_uri = str(metadata["issuer"]), str(metadata["jwks_uri"])
                except (requests.RequestException, ValueError, KeyError) as error:
                    raise Unavailable(f"Entra ID metadata unavailable: {type(error).__name__}", code="staff-auth-unavailable") from error
                self._keys = jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=3600, timeout=3, ssl_context=_tls_context())
                self._issuer = issuer
            return self._issuer, self._keys

    def validate(self, token: str) -> StaffPrincipal:
        issuer, keys = self._discover()
        try:
            key = keys.get_signing_key_from_jwt(token)
        except jwt.PyJWKClientConnectionError as error:
            raise Unavailable("Entra ID signing keys unavailable", code="staff-auth-unavailable") from error
        except (jwt.PyJWKClientError, jwt.DecodeError) as error:
            raise TokenRejected(f"signing key: {error}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "oid"]},
            )
        except jwt.InvalidTokenError as error:
            raise TokenRejected(str(error)) from None
        if STAFF_ROLE not in claims.get("roles", []):
            raise TokenRejected(f"the token lacks the app role {STAFF_ROLE}", missing_role=True)
        actor = claims.get("preferred_username") or claims.get("upn") or claims["oid"]
        return StaffPrincipal(actor=str(actor), object_id=str(claims["oid"]))
