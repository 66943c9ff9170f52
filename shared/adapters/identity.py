"""Sign-in through the invitees' identity platform with MSAL (auth-code flow with PKCE, state and nonce):
Azure AD B2C (user flow or custom policy) or Microsoft Entra External ID, each with its claims and codes.

MSAL and requests errors end here: the platform unreachable is `Unavailable`, a code it refuses (already
redeemed, expired) `Gone`, any other refusal `SignInFailed`.
"""

import logging
import threading
import uuid
import warnings
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import msal
import requests

from shared.domain.errors import Gone, SignInFailed, Unavailable
from shared.domain.models import SignedInUser
from shared.domain.platforms import IdentityPlatform
from shared.settings import Settings

log = logging.getLogger(__name__)
ENTRA_ISSUER_HOSTS = frozenset({"login.microsoftonline.com", "sts.windows.net"})
# (connect, read) seconds per call to the platform, tried once: a person waits on it within the
# interactive budget of about 2 s (docs/explanation/faults.md). MSAL's own session would retry a hung GET.
TIMEOUT = (1.0, 1.5)
LOCAL_ACCOUNT_IDP = "LocalAccount"
WORK_FLOW = "entra_work"  # the flow's mark: begun at Entra ID's multi-tenant endpoint, not at the platform


def silence_form_post_advice() -> None:
    """MSAL advises response_mode=form_post on every authorize request it builds. B2C answers by query
    on purpose: the SameSite=Lax cookie holding the flow does not travel with a cross-site form POST."""
    warnings.filterwarnings("ignore", "response_mode='form_post' is recommended", UserWarning, r"msal\.")


silence_form_post_advice()


def _msal_authority(settings: Settings) -> dict[str, str]:
    """MSAL knows B2C authorities (by host, or a path naming a B2C_1… policy) and `*.ciamlogin.com`. An
    External ID tenant behind another host (a custom URL domain, the local stand-in) would be taken for an
    Entra ID tenant and validated against Microsoft's instance discovery: MSAL reads it as a plain OIDC
    authority instead (its issuer must then share the authority's host)."""
    authority = settings.identity_authority_url
    if settings.identity_platform == "external-id" and not (urlparse(authority).hostname or "").endswith(".ciamlogin.com"):
        return {"oidc_authority": f"{authority}/v2.0"}
    return {"authority": authority}


def _entra_work_client(settings: Settings) -> msal.ConfidentialClientApplication:
    host = urlparse(settings.entra_work_authority).hostname
    return msal.ConfidentialClientApplication(
        settings.entra_client_id,
        client_credential=settings.entra_client_secret.get_secret_value(),
        authority=settings.entra_work_authority,
        instance_discovery=host == "login.microsoftonline.com",  # Microsoft's own check knows no other host
        http_client=_OneTrySession(),
    )


class B2CSignIn:
    """The identity port on the configured platform. On External ID, which cannot federate Entra tenants,
    an invited address whose domain Entra ID knows (home realm discovery) signs in at Entra ID's
    multi-tenant endpoint with the app's own Entra app instead (CASE 1, docs/decisions/0019)."""

    def __init__(self, settings: Settings, redirect_uri: str) -> None:
        self._settings = settings
        self._redirect_uri = redirect_uri
        self._clients: dict[bool, msal.ConfidentialClientApplication] = {}  # by "is the Entra work-account client"
        self._lock = threading.Lock()

    def _client(self, work: bool = False) -> msal.ConfidentialClientApplication:
        # Built on first use and kept: construction fetches the OpenID configuration,
        # and a failed fetch must not stick, so the next request tries again.
        with self._lock:
            if work not in self._clients:
                self._clients[work] = (
                    _entra_work_client(self._settings)
                    if work
                    else msal.ConfidentialClientApplication(
                        self._settings.b2c_client_id,
                        client_credential=self._settings.b2c_client_secret.get_secret_value(),
                        **_msal_authority(self._settings),
                        http_client=_OneTrySession(),
                    )
                )
            return self._clients[work]

    def _is_work_account(self, address: str) -> bool:
        """External ID only: whether Entra ID manages the address's domain (its home realm discovery)."""
        if self._settings.identity_platform != "external-id":
            return False
        url = f"{str(self._settings.entra_login_host).rstrip('/')}/common/userrealm/{quote(address)}"
        response = requests.get(url, params={"api-version": "2.1"}, timeout=TIMEOUT)
        response.raise_for_status()
        return response.json().get("NameSpaceType") in ("Managed", "Federated")

    def begin(
        self, *, login_hint: str, ui_locales: str, force_login: bool, extra_query: dict[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """(B2C's sign-in page, the auth-code flow that redeems its answer with MSAL's
        `acquire_token_by_auth_code_flow`). MSAL's `initiate_auth_code_flow` makes the request (state,
        nonce, PKCE S256); B2C's pages come in `ui_locales` (its language customization), a parameter
        MSAL does not take, so it is appended to MSAL's URL, as is `extra_query` (the invitation
        policy's id_token_hint). The flow, without the URL, is what the
        redemption reads: state, nonce, PKCE verifier, redirect URI and scopes."""
        try:
            work = self._is_work_account(login_hint)
            client = self._client(work)
        except (requests.RequestException, ValueError) as error:  # MSAL's failed discovery is a ValueError
            raise _unavailable(error) from error
        flow: dict[str, Any] = client.initiate_auth_code_flow(
            scopes=[],  # MSAL adds its reserved scopes (openid, profile, offline_access): an ID token is all we need
            redirect_uri=self._redirect_uri,
            login_hint=login_hint,
            prompt="login" if force_login else None,
        )
        auth_uri: str = flow.pop("auth_uri")  # the sealed cookie carries the flow: the URL is not part of it
        return f"{auth_uri}&{urlencode({'ui_locales': ui_locales, **(extra_query or {})})}", {**flow, WORK_FLOW: work}

    def redeem(self, flow: dict[str, Any], response: dict[str, str]) -> SignedInUser:
        """The signed-in user from B2C's redirect; SignInFailed, or Gone when B2C refuses the code
        (codes are single-use: this is what makes each flow work once)."""
        if "error" in response:
            raise SignInFailed(response["error"], response.get("error_description", ""))
        flow = dict(flow)
        work = bool(flow.pop(WORK_FLOW, False))
        try:
            result = self._client(work).acquire_token_by_auth_code_flow(flow, response)
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
        claims = result["id_token_claims"]
        return entra_work_user(claims) if work else user_from_claims(claims, self._settings.identity_platform)


class _OneTrySession(requests.Session):
    """MSAL's HTTP client: every call with TIMEOUT and no retry."""

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = TIMEOUT
        return super().request(method, url, *args, **kwargs)


def _unavailable(error: Exception) -> Unavailable:
    log.warning("Identity platform unreachable: %s", error)
    return Unavailable(f"The identity platform cannot be reached: {type(error).__name__}", code="sign-in-unavailable")


def _entra_home_tenant(issuer: str | None) -> str | None:
    """The home tenant of an Entra ID work account, from its issuer (`https://login.microsoftonline.com/{tid}/v2.0`
    or v1's `https://sts.windows.net/{tid}/`), which B2C and External ID put in `idp`."""
    if not issuer:
        return None
    parsed = urlparse(issuer)
    segment = parsed.path.strip("/").split("/")[0] if parsed.path else ""
    if parsed.hostname not in ENTRA_ISSUER_HOSTS:
        return None
    try:
        return str(uuid.UUID(segment))
    except ValueError:
        return None


def _b2c_user(claims: dict[str, Any]) -> SignedInUser:
    """B2C: a local account has the address in `emails` and no `idp` from a user flow, `idp: LocalAccount`
    from our custom policy; a federated work account its verified mailbox in `email` and its Entra issuer
    in `idp`; a social account its provider's domain (`google.com`) in `idp`."""
    emails = claims.get("emails") or []
    email = emails[0] if emails else claims.get("email") or ""
    idp = claims.get("idp")
    home_tenant = _entra_home_tenant(idp)
    local = idp is None or idp.casefold() == LOCAL_ACCOUNT_IDP.casefold()
    return _platform_user(claims, email, idp, home_tenant, local=local)


def _external_id_user(claims: dict[str, Any]) -> SignedInUser:
    """External ID (v2.0 tokens of the external tenant): `tid` is always the external tenant itself, so the
    account kind comes from `idp`: absent (or the token's own issuer) for e-mail + password and e-mail
    one-time passcode accounts, `mail` for an e-mail OTP guest, a domain such as `google.com` for social
    accounts, an Entra issuer only for a tenant federated by hand (work accounts normally sign in at Entra
    ID itself: `entra_work_user`). The address is the `email` optional claim (the app registration asks
    for it), else `preferred_username`."""
    email = claims.get("email") or claims.get("preferred_username") or ""
    idp = claims.get("idp")
    home_tenant = _entra_home_tenant(idp)
    local = idp is None or idp == claims.get("iss") or idp.casefold() == "mail"
    return _platform_user(claims, email, idp, home_tenant, local=local)


def _platform_user(claims: dict[str, Any], email: str, idp: str | None, home_tenant: str | None, *, local: bool) -> SignedInUser:
    """The account a B2C or External ID token names, once its address, provider and home tenant are read:
    a work account if an Entra tenant is its home, else local or social."""
    return SignedInUser(
        object_id=claims.get("oid") or claims["sub"],
        email=email,
        name=claims.get("name") or email,
        account_type="work" if home_tenant else "local" if local else "social",
        identity_provider=idp,
        home_tenant_id=home_tenant,
    )


def entra_work_user(claims: dict[str, Any]) -> SignedInUser:
    """A work account signed in at Entra ID's multi-tenant endpoint (External ID's CASE 1): v2.0 claims,
    the home tenant in `tid`. The address is `email` only when the domain owner verified it (`xms_edov`),
    else the `upn`, never `preferred_username`: the rule of decision 0011, which B2C's policy applies."""
    verified = claims.get("xms_edov") in (True, "true", "1", 1)
    email = (claims.get("email") if verified else None) or claims.get("upn") or ""
    return SignedInUser(
        object_id=claims["oid"],
        email=email,
        name=claims.get("name") or email,
        account_type="work",
        identity_provider=claims.get("iss"),
        home_tenant_id=claims["tid"],
    )


def user_from_claims(claims: dict[str, Any], platform: IdentityPlatform) -> SignedInUser:
    """CASE 1 (a work account: its home Entra tenant) or CASE 2 (a local or social account), as the
    platform's ID token says it."""
    return _external_id_user(claims) if platform == "external-id" else _b2c_user(claims)
