"""The authorization request the e-mail link sends the invitee to, as MSAL's initiate_auth_code_flow
builds it against the local B2C's metadata, plus `ui_locales`; and a flow holding what MSAL's
redemption reads, the nonce and PKCE challenge the ones the request carries. test_round_trips
redeems such a flow at the local B2C."""

from __future__ import annotations

import base64
import hashlib
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import AnyHttpUrl

from shared.adapters.identity import B2CSignIn, silence_form_post_advice
from shared.domain.errors import Unavailable
from shared.settings import Settings
from tests.functions.conftest import CALLBACK
from tools.localstack.stack import free_port

EMAIL = "anna.keller@contoso.example"


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.mark.parametrize("force_login", [False, True])
def test_the_sign_in_request_is_msals_in_the_invitees_language(
    idp: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, force_login: bool
) -> None:
    issuer, ca_file = idp
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    identity = B2CSignIn(Settings(b2c_authority_host=AnyHttpUrl(issuer)), CALLBACK)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        silence_form_post_advice()  # as at the module's import (pytest's per-test warning capture undoes that)
        uri, flow = identity.begin(login_hint=EMAIL, ui_locales="de", force_login=force_login)
    assert [str(w.message) for w in warned] == []  # MSAL's advice to answer by form_post, given on every call, and nothing else
    query = {key: values[0] for key, values in parse_qs(urlparse(uri).query).items()}

    assert uri.split("?")[0] == identity._client().authority.authorization_endpoint  # the local B2C's, as MSAL discovered it
    assert query["ui_locales"] == "de"
    assert query["login_hint"] == EMAIL
    assert query.get("prompt") == ("login" if force_login else None)
    assert (query["client_id"], query["response_type"], query["redirect_uri"]) == (identity._settings.b2c_client_id, "code", CALLBACK)
    assert set(query["scope"].split()) == {"openid", "profile", "offline_access"}
    assert "response_mode" not in query  # B2C answers by query: the SameSite=Lax cookie comes back with it

    assert {"state", "nonce", "code_verifier", "redirect_uri", "scope"} <= set(flow) and "auth_uri" not in flow
    assert query["state"] == flow["state"] and len(flow["state"]) >= 16
    assert query["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()  # what MSAL checks the ID token for
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == challenge(flow["code_verifier"]) and len(flow["code_verifier"]) >= 43
    assert flow["redirect_uri"] == CALLBACK


def test_each_sign_in_draws_its_own_state_nonce_and_verifier(idp: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    issuer, ca_file = idp
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    identity = B2CSignIn(Settings(b2c_authority_host=AnyHttpUrl(issuer)), CALLBACK)
    first, second = (identity.begin(login_hint=EMAIL, ui_locales="en", force_login=False)[1] for _ in range(2))
    assert all(first[key] != second[key] for key in ("state", "nonce", "code_verifier"))


def test_on_external_id_entra_down_before_the_redirect_is_unavailable() -> None:
    """External ID asks Entra ID's home realm discovery where the invitee signs in (decision 0019):
    when it does not answer, the invitee gets the retry page, not a sign-in at the wrong place."""
    down = AnyHttpUrl(f"https://127.0.0.1:{free_port()}")
    identity = B2CSignIn(Settings(identity_platform="external-id", entra_login_host=down, b2c_authority_host=down), CALLBACK)
    with pytest.raises(Unavailable):
        identity.begin(login_hint=EMAIL, ui_locales="en", force_login=False)
