"""Sign-in through Azure AD B2C with MSAL (auth-code flow with PKCE, state and nonce)."""

import logging
import uuid
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

import msal

from shared import auth_flows
from shared.models import Invitation, SignedInUser
from shared.settings import get_settings

log = logging.getLogger(__name__)
ENTRA_ISSUER_HOSTS = frozenset({"login.microsoftonline.com", "sts.windows.net"})


class SignInFailed(Exception):
    """The identity provider or the token exchange said no."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description = error, description


@lru_cache
def _client() -> msal.ConfidentialClientApplication:
    # Built once per process: construction fetches B2C's OpenID configuration.
    settings = get_settings()
    return msal.ConfidentialClientApplication(
        settings.b2c_client_id,
        client_credential=settings.b2c_client_secret.get_secret_value(),
        authority=settings.b2c_authority,
    )


def begin(invitation: Invitation, *, force_login: bool) -> tuple[str, str]:
    """(URL of B2C's sign-in page, OAuth state); the flow itself is stored server-side."""
    flow = _client().initiate_auth_code_flow(
        scopes=[],  # an ID token is all we need; MSAL adds openid and profile
        redirect_uri=get_settings().b2c_redirect_uri,
        login_hint=invitation.invitee.email,
        prompt="login" if force_login else None,
    )
    auth_flows.save(flow, invitation.id)
    return flow["auth_uri"], flow["state"]


def finish(state: str, response: dict[str, str]) -> tuple[str, SignedInUser]:
    """(invitation id, user) from B2C's redirect, or SignInFailed; each flow works once."""
    flow, invitation_id = auth_flows.consume(state)
    if "error" in response:
        raise SignInFailed(response["error"], response.get("error_description", ""))
    result = _client().acquire_token_by_auth_code_flow(flow, response)
    if "error" in result:
        log.warning("Token exchange failed: %s %s", result.get("error"), result.get("error_description"))
        raise SignInFailed(result["error"], result.get("error_description", ""))
    return invitation_id, user_from_claims(result["id_token_claims"])


def _entra_home_tenant(idp: str | None) -> str | None:
    """The home tenant of a work account federated from Entra ID, from B2C's `idp` claim."""
    if not idp:
        return None
    parsed = urlparse(idp)
    segment = parsed.path.strip("/").split("/")[0] if parsed.path else ""
    if parsed.hostname not in ENTRA_ISSUER_HOSTS:
        return None
    try:
        return str(uuid.UUID(segment))
    except ValueError:
        return None


def user_from_claims(claims: dict[str, Any]) -> SignedInUser:
    """CASE 1 (work account: `idp` is an Entra ID tenant) or CASE 2 (social or local account)."""
    emails = claims.get("emails") or []
    email = emails[0] if emails else claims.get("email") or claims.get("preferred_username") or ""
    idp = claims.get("idp")
    home_tenant = _entra_home_tenant(idp)
    return SignedInUser(
        object_id=claims.get("oid") or claims["sub"],
        email=email,
        name=claims.get("name") or email,
        account_type="work" if home_tenant else "social" if idp else "local",
        identity_provider=idp,
        home_tenant_id=home_tenant,
    )


def email_matches(invitation: Invitation, user: SignedInUser) -> bool:
    if not get_settings().require_matching_email:
        return True
    return invitation.invitee.email.casefold() == user.email.casefold()
