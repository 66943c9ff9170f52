"""The id_token_hint's HTTP glue: the OpenID metadata and JWKS B2C's invitation policy reads
(GET /api/hint/.well-known/openid-configuration and /api/hint/keys), and the e-mail link's redirect
carrying a hint those keys verify. With SIGN_IN_HINT=login_hint nothing is published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest

from accept_invitation.email_link import open_invitation_link
from accept_invitation.hint_metadata import hint_keys, hint_metadata
from shared.domain.models import InvitationRequest
from shared.wiring import Services, services
from tests.azurite import Azurite
from tests.functions.conftest import APP_URL, call, configure, request
from tests.support import invitation_body, unique_email
from tools.localstack.hint_keys import new_private_key_pem

METADATA_PATH, KEYS_PATH = "/api/hint/.well-known/openid-configuration", "/api/hint/keys"


@pytest.fixture(scope="module")
def hinting(azurite: Azurite, idp: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The app with SIGN_IN_HINT=id_token_hint, a current and a previous key, and the local B2C."""
    issuer, ca_file = idp
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(
            monkeypatch,
            STORAGE=azurite.connection_string,
            OUTBOX_DIR=str(tmp_path_factory.mktemp("hint-outbox")),
            B2C_AUTHORITY_HOST=issuer,
            REQUESTS_CA_BUNDLE=str(ca_file),
            SIGN_IN_HINT="id_token_hint",
            HINT_SIGNING_KEY=new_private_key_pem(),
            HINT_PREVIOUS_SIGNING_KEY=new_private_key_pem(),
        )
        yield services()
        configure(monkeypatch)


def test_the_metadata_names_the_issuer_and_the_keys(hinting: Services) -> None:
    response = call(hint_metadata, request("GET", METADATA_PATH))
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert json.loads(response.get_body()) == {
        "issuer": f"{APP_URL}/api/hint",
        "jwks_uri": f"{APP_URL}{KEYS_PATH}",
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def test_the_keys_are_the_current_and_the_previous_public_key(hinting: Services) -> None:
    response = call(hint_keys, request("GET", KEYS_PATH))
    keys = json.loads(response.get_body())["keys"]
    assert response.status_code == 200 and len(keys) == 2 and keys[0]["kid"] != keys[1]["kid"]
    assert all(set(key) == {"kty", "use", "alg", "kid", "n", "e"} for key in keys)


def test_the_email_link_sends_a_hint_the_published_keys_verify(hinting: Services) -> None:
    email = unique_email("hint")
    body = InvitationRequest.model_validate(invitation_body(invitee={"email": email, "displayName": "Anna"}))
    invitation_id = hinting.invitations.create(body, actor="t", idempotency_key=None)[0].id
    response = call(open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": invitation_id}))
    assert response.status_code == 302
    hint = parse_qs(urlsplit(response.headers["Location"]).query)["id_token_hint"][0]
    keys = {key["kid"]: key for key in json.loads(call(hint_keys, request("GET", KEYS_PATH)).get_body())["keys"]}
    metadata = json.loads(call(hint_metadata, request("GET", METADATA_PATH)).get_body())
    signing_key = jwt.PyJWK(keys[jwt.get_unverified_header(hint)["kid"]]).key
    claims = jwt.decode(hint, signing_key, algorithms=["RS256"], audience=hinting.settings.b2c_client_id, issuer=metadata["issuer"])
    assert (claims["email"], claims["invitation_id"]) == (email, invitation_id)
    assert claims["exp"] - claims["nbf"] == hinting.settings.hint_lifetime_seconds


def test_without_id_token_hint_nothing_is_published(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, SIGN_IN_HINT="login_hint")
    try:
        for function, path in ((hint_metadata, METADATA_PATH), (hint_keys, KEYS_PATH)):
            response = call(function, request("GET", path))
            assert (response.status_code, response.mimetype) == (404, "application/problem+json")
    finally:
        configure(monkeypatch)
