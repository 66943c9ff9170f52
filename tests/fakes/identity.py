"""An in-memory IdentityProvider: the customer identity platform (B2C) as shared.adapters.identity.B2CSignIn
presents it, with the user a test signs in chosen by the test.

`begin` gives a sign-in page URL carrying the flow's state (and the nonce's hash, as OIDC sends it)
and the flow; `sign_in(url, user)` plays the person signing in there and returns the platform's
redirect (its query: state and a code); `redeem` takes it back. As with the real platform a code
works once (then Gone), an answer for another flow is SignInFailed, the platform's error redirect
is SignInFailed, and a platform that is `down` is Unavailable.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from shared.domain.errors import Gone, SignInFailed, Unavailable
from shared.domain.models import SignedInUser

AUTHORIZE_URL = "https://b2c.fake.example/tenant.onmicrosoft.com/b2c_1a_signin/oauth2/v2.0/authorize"
REDIRECT_URI = "https://invite.rconnect.example/api/InviteUser/callback"


@dataclass(frozen=True)
class _Code:
    state: str
    user: SignedInUser


def _state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


class FakeIdentityProvider:
    def __init__(self) -> None:
        self.down = False
        self._codes: dict[str, _Code] = {}
        self._redeemed: set[str] = set()

    def begin(
        self, *, login_hint: str, ui_locales: str, force_login: bool, extra_query: dict[str, str] | None = None
    ) -> tuple[str, dict[str, Any]]:
        if self.down:
            raise Unavailable("The identity platform cannot be reached: ConnectionError", code="sign-in-unavailable")
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        query = {
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "state": state,
            "nonce": hashlib.sha256(nonce.encode()).hexdigest(),
            "login_hint": login_hint,
            "ui_locales": ui_locales,
            **({"prompt": "login"} if force_login else {}),
            **(extra_query or {}),
        }
        flow = {"state": state, "nonce": nonce, "code_verifier": secrets.token_urlsafe(32), "redirect_uri": REDIRECT_URI}
        return f"{AUTHORIZE_URL}?{urlencode(query)}", flow

    def sign_in(self, url: str, user: SignedInUser) -> dict[str, str]:
        """`user` signs in on the page `url` (from `begin`): the platform's redirect back, as its query."""
        state = _state_of(url)
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(state, user.model_copy())
        return {"state": state, "code": code}

    def refuse(self, url: str, error: str = "access_denied", description: str = "AADB2C90091: The user has cancelled.") -> dict[str, str]:
        """The platform's error redirect for the page `url` (the person cancelled, a policy refused)."""
        return {"state": _state_of(url), "error": error, "error_description": description}

    def redeem(self, flow: dict[str, Any], response: dict[str, str]) -> SignedInUser:
        if "error" in response:
            raise SignInFailed(response["error"], response.get("error_description", ""))
        if response.get("state") != flow.get("state"):
            # MSAL refuses an answer whose state is not its flow's before asking the platform.
            raise SignInFailed("invalid_response", "state mismatch")
        if self.down:
            raise Unavailable("The identity platform cannot be reached: ConnectionError", code="sign-in-unavailable")
        code = self._codes.get(response.get("code", ""))
        if code is None or code.state != flow["state"] or response["code"] in self._redeemed:
            # invalid_grant: used before, expired, or issued for another flow.
            raise Gone("This sign-in answer was already used or has expired.", code="sign-in-used")
        self._redeemed.add(response["code"])
        return code.user.model_copy()
