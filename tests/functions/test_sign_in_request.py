"""The authorization request the e-mail link builds is the one MSAL's initiate_auth_code_flow would
(against the local B2C's metadata): the same parameters but Entra ID's routing hints, plus
`ui_locales`, and a flow with the keys MSAL's redemption reads, the nonce and PKCE challenge
derived as MSAL derives and checks them. test_round_trips redeems such a flow at the local B2C."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from pydantic import AnyHttpUrl

from shared.adapters.identity import B2CSignIn
from shared.settings import Settings
from tests.functions.conftest import CALLBACK

EMAIL = "anna.keller@contoso.example"
ROUTING_HINTS = {"client_info", "X-AnchorMailbox"}  # Entra ID's cache routing; B2C has no use for them


def challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


# MSAL's own flow, built here only to compare, warns that response_mode=form_post is safer: B2C's
# answer comes back by query on purpose, since the SameSite=Lax sign-in cookie that holds the flow
# does not travel with a cross-site form POST.
@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")
@pytest.mark.parametrize("force_login", [False, True])
def test_the_sign_in_request_is_msals(idp: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, force_login: bool) -> None:
    issuer, ca_file = idp
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    identity = B2CSignIn(Settings(b2c_authority_host=AnyHttpUrl(issuer)), CALLBACK)
    ours_uri, ours = identity.begin(login_hint=EMAIL, ui_locales="de", force_login=force_login)
    prompt = "login" if force_login else None
    theirs = identity._client().initiate_auth_code_flow(scopes=[], redirect_uri=CALLBACK, login_hint=EMAIL, prompt=prompt)
    theirs_uri = theirs.pop("auth_uri")
    ours_query = {key: values[0] for key, values in parse_qs(urlparse(ours_uri).query).items()}
    theirs_query = {key: values[0] for key, values in parse_qs(urlparse(theirs_uri).query).items()}

    assert ours_uri.split("?")[0] == theirs_uri.split("?")[0]
    assert set(ours_query) == set(theirs_query) - ROUTING_HINTS | {"ui_locales"}
    assert ours_query["ui_locales"] == "de"
    for same in ("client_id", "response_type", "redirect_uri", "login_hint", "code_challenge_method"):
        assert ours_query[same] == theirs_query[same], same
    assert ours_query.get("prompt") == theirs_query.get("prompt") == prompt
    assert set(ours_query["scope"].split()) == set(theirs_query["scope"].split())

    assert set(ours) == {key for key, value in theirs.items() if value is not None}
    assert (ours["redirect_uri"], sorted(ours["scope"])) == (theirs["redirect_uri"], sorted(theirs["scope"]))
    for flow, query in ((ours, ours_query), (theirs, theirs_query)):
        assert query["state"] == flow["state"]
        assert query["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()  # what MSAL checks the ID token for
        assert query["code_challenge"] == challenge(flow["code_verifier"]) and len(flow["code_verifier"]) == 43
