"""Sign-in through Azure AD B2C with MSAL (auth-code flow with PKCE, state and nonce).

MSAL and requests errors end here: B2C unreachable is `Unavailable`, a code it refuses (already
redeemed, expired) `Gone`, any other refusal `SignInFailed`.
"""

import base64
import hashlib
import logging
import re
import secrets
import threading
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlparse

import requests

from shared.domain.errors import Gone, SignInFailed, Unavailable
from shared.domain.models import SignedInUser
from shared.settings import Settings

if TYPE_CHECKING:
    import msal

log = logging.getLogger(__name__)
ENTRA_ISSUER_HOSTS = frozenset({"login.microsoftonline.com", "sts.windows.net"})
LOCAL_ACCOUNT_IDP = "LocalAccount"
SCOPES = ("openid", "profile", "offline_access")  # an ID token is all we need; MSAL's reserved scopes


class B2CSignIn:
    def __init__(self, settings: Settings, redirect_uri: str) -> None:
        self._settings = settings
        self._redirect_uri = redirect_uri
        self._msal: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _client(self) -> "msal.ConfidentialClientApplication":
        # Built on first use and kept: construction fetches B2C's OpenID configuration,
        # and a failed fetch must not stick, so the next request tries again.
        with self._lock:
            if self._msal is None:
                import msal  # here, not at import: only the invitee's sign-in needs it (cold start)

                self._msal = msal.ConfidentialClientApplication(
                    self._settings.b2c_client_id,
                    client_credential=self._settings.b2c_client_secret.get_secret_value(),
                    authority=self._settings.b2c_authority,
                )
            return self._msal

    def begin(self, *, login_hint: str, ui_locales: str, force_login: bool) -> tuple[str, dict[str, Any]]:
        """(B2C's sign-in page, the auth-code flow that redeems its answer with MSAL's
        `acquire_token_by_auth_code_flow`). B2C's pages come in `ui_locales` (its language customization).

        The request is the one MSAL's `initiate_auth_code_flow` makes (tests/functions/test_sign_in_request.py
        compares them), built here from MSAL's cached metadata: MSAL draws the PKCE verifier one
        character per os.urandom call and warns on every call, which was 0.4 of the link's 0.5 ms of
        CPU, and it takes no extra parameters such as `ui_locales`. The flow holds what the
        redemption reads: state, nonce, PKCE verifier, redirect URI and scopes."""
        try:
            endpoint = self._client().authority.authorization_endpoint
        except (requests.RequestException, ValueError) as error:  # MSAL's failed discovery is a ValueError
            raise _unavailable(error) from error
        state, nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        query = {
            "client_id": self._settings.b2c_client_id,
            "response_type": "code",
            "redirect_uri": self._redirect_uri,
            "scope": " ".join(SCOPES),
            "state": state,
            # OIDC's nonce notes, as MSAL checks the ID token: the request carries the nonce's hash.
            "nonce": hashlib.sha256(nonce.encode("ascii")).hexdigest(),
            # RFC 7636 S256; token_urlsafe(32) is 43 characters of its verifier alphabet.
            "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "login_hint": login_hint,
            "ui_locales": ui_locales,
            **({"prompt": "login"} if force_login else {}),
        }
        flow = {"state": state, "nonce": nonce, "code_verifier": verifier, "redirect_uri": self._redirect_uri, "scope": list(SCOPES)}
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}", flow

    def redeem(self, flow: dict[str, Any], response: dict[str, str]) -> SignedInUser:
        """The signed-in user from B2C's redirect; SignInFailed, or Gone when B2C refuses the code
        (codes are single-use: this is what makes each flow work once)."""
        if "error" in response:
            raise SignInFailed(response["error"], response.get("error_description", ""))
        try:
            result = self._client().acquire_token_by_auth_code_flow(flow, response)
        except requests.RequestException as error:
            raise _unavailable(error) from error
        except ValueError as error:  # MSAL: the response does not belong to this flow
            raise SignInFailed("invalid_response", str(error)) from error
        if result.get("error") == "invalid_grant":
            # RFC 6749 5.2: the code was redeemed already (a replayed answer), expired or is not ours.
            log.info("B2C refused the code: %s", result.get("error_description"))
            raise Gone("This sign-in answer was already used or has expired.", code="sign-in-used")
        if "error" in result:
            log.warning("Token exchange failed: %s %s", result.get("error"), result.get("error_description"))
            raise SignInFailed(result["error"], result.get("error_description", ""))
        return user_from_claims(result["id_token_claims"])


_LEADING_CODE = re.compile(r"\s*(AADB2C\d+|AADSTS\d+)\b")
_INNER_CODE = re.compile(r"Error Description:\s*(AADB2C\d+|AADSTS\d+)\b|\b(AADSTS\d+)\b")
_WRAPPED = "AADB2C90273"  # "An invalid response was received": B2C relaying an upstream provider's error


def provider_error_code(description: str) -> str | None:
    """The code an error_description is about: its leading AADB2C/AADSTS code, or for B2C's
    AADB2C90273 wrapper the upstream code inside it (`…'Error: x, Error Description: AADSTS65001: …'`),
    None when the wrapper carries none."""
    leading = _LEADING_CODE.match(description)
    if leading is None:
        return None
    if leading[1] != _WRAPPED:
        return leading[1]
    inner = _INNER_CODE.search(description, leading.end())
    return (inner[1] or inner[2]) if inner else None


def _unavailable(error: Exception) -> Unavailable:
    log.warning("B2C unreachable: %s", error)
    return Unavailable(f"B2C cannot be reached: {type(error).__name__}", code="sign-in-unavailable")


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
    """CASE 1 (work account: `idp` is an Entra ID tenant) or CASE 2 (social or local account).
    A local account has no `idp` from a user flow and `idp: LocalAccount` from our custom policy."""
    emails = claims.get("emails") or []
    email = emails[0] if emails else claims.get("email") or claims.get("preferred_username") or ""
    idp = claims.get("idp")
    home_tenant = _entra_home_tenant(idp)
    local = idp is None or idp.casefold() == LOCAL_ACCOUNT_IDP.casefold()
    return SignedInUser(
        object_id=claims.get("oid") or claims["sub"],
        email=email,
        name=claims.get("name") or email,
        account_type="work" if home_tenant else "local" if local else "social",
        identity_provider=idp,
        home_tenant_id=home_tenant,
    )
