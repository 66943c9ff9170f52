"""The local B2C's invitation policy (tools/idp/hint.mjs) on its own: it validates the app's
id_token_hint as B2C does — signature by the JWKS the app's metadata names, `iss`, `aud`, `exp`,
`nbf` — and takes each hint once. A refused hint goes back to the redirect URI with B2C's code;
a valid one shows the invited address locked and signs up without an e-mail code. The app's side
is played by its own signer (shared/adapters/invitation_hints.py) behind a small HTTP server."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from shared.adapters.invitation_hints import HintIssuer, InvitationHints
from shared.clock import utcnow
from shared.domain.models import Invitation
from tests.local_b2c import STRONG_PASSWORD
from tests.support import Outbox, unique_email
from tests.test_local_b2c import REDIRECT_URI, TIMEOUT, issuer_when_ready, post_form, start_idp
from tests.unit.test_invitation_rules import invitation
from tools.localstack.hint_keys import new_private_key_pem
from tools.localstack.stack import free_port

CLIENT_ID = "rconnect-invitations-local"


@dataclass
class App:
    """The app's hint endpoints on loopback; `hints` signs with its key (the clock set per test)."""

    base_url: str
    issuer: HintIssuer
    pem: str
    now: Any

    def hints(self, **changes: Any) -> InvitationHints:
        return InvitationHints(HintIssuer(**{**vars(self.issuer), **changes}), self.pem, None, lambda: self.now)


@pytest.fixture(scope="module")
def app_endpoints() -> Iterator[App]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    issuer = HintIssuer(
        f"{base}/api/hint", f"{base}/api/hint/.well-known/openid-configuration", f"{base}/api/hint/keys", CLIENT_ID, timedelta(minutes=10)
    )
    app = App(base, issuer, new_private_key_pem(), utcnow())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            published = app.hints()
            body = {"/api/hint/.well-known/openid-configuration": published.metadata(), "/api/hint/keys": published.keys()}.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body or {}).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield app
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def idp(app_endpoints: App, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, requests.Session, Outbox]]:
    folder = tmp_path_factory.mktemp("hint-idp")
    process = start_idp(folder, IDP_HINT_METADATA_URL=app_endpoints.issuer.metadata_url)
    try:
        issuer = issuer_when_ready(process)
        client = requests.Session()
        client.trust_env = False
        client.verify = str(folder / "certs" / "ca.pem")
        yield issuer, client, Outbox(folder / "outbox")
    finally:
        process.terminate()
        process.wait(TIMEOUT)


@pytest.fixture(autouse=True)
def fresh_browser(idp: tuple[str, requests.Session, Outbox]) -> None:
    """Each test a browser of its own: the stand-in's session of another test's account is not carried over."""
    idp[1].cookies.clear()


def authorize(idp: tuple[str, requests.Session, Outbox], hint: str, state: str = "the-state") -> requests.Response:
    issuer, client, _ = idp
    endpoint = client.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT).json()["authorization_endpoint"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(secrets.token_bytes(32)).digest()).rstrip(b"=").decode()
    query = {
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "id_token_hint": hint,
    }
    return client.get(f"{endpoint}?{urlencode(query)}", timeout=TIMEOUT, allow_redirects=False)


def refusal(response: requests.Response) -> tuple[str, str, str]:
    """(error, the description's B2C code, state) of the redirect to the app."""
    assert response.status_code in (302, 303), response.text[:1000]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    return query["error"], query["error_description"].split(":")[0], query["state"]


def followed(idp: tuple[str, requests.Session, Outbox], response: requests.Response) -> requests.Response:
    _, client, _ = idp
    while response.status_code in (302, 303):
        response = client.get(urljoin(response.url, response.headers["Location"]), timeout=TIMEOUT, allow_redirects=False)
    return response


def invited(email: str) -> Invitation:
    base = invitation()
    return base.model_copy(update={"invitee": base.invitee.model_copy(update={"email": email})})


def test_a_valid_hint_locks_the_address_and_signs_up_without_a_code(app_endpoints: App, idp: tuple[str, requests.Session, Outbox]) -> None:
    email = unique_email("hinted")
    sign_in = followed(idp, authorize(idp, app_endpoints.hints().sign(invited(email))))
    assert sign_in.status_code == 200
    field = re.search(r'<input id="email"[^>]*>', sign_in.text)
    assert field and f'value="{email}"' in field.group(0) and "readonly" in field.group(0)
    link = re.search(r'id="createAccount" href="([^"]+)"', sign_in.text)
    assert link
    sign_up = idp[1].get(urljoin(sign_in.url, html.unescape(link.group(1))), timeout=TIMEOUT)
    assert 'id="terms"' in sign_up.text and 'id="send-code"' not in sign_up.text
    assert re.search(r'<input id="email"[^>]*readonly', sign_up.text)
    no_terms = post_form(idp[1], sign_up, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="create")
    assert no_terms.status_code == 400 and 'id="error"' in no_terms.text
    # The address is the hint's: a typed one is ignored.
    action = re.search(r'<form method="post" action="([^"]+)"', sign_up.text)
    assert action
    fields = {"email": "mallory@evil.example", "newPassword": STRONG_PASSWORD, "reenterPassword": STRONG_PASSWORD, "terms": "accepted"}
    target = urljoin(sign_up.url, html.unescape(action.group(1)))
    done = idp[1].post(target, data={**fields, "action": "create"}, allow_redirects=False, timeout=TIMEOUT)
    while not done.headers.get("Location", "").startswith(REDIRECT_URI):
        assert done.status_code in (302, 303), done.text[:1000]
        done = idp[1].get(urljoin(done.url, done.headers["Location"]), allow_redirects=False, timeout=TIMEOUT)
    assert "code=" in done.headers["Location"]
    assert idp[2].messages_to(email) == []  # no verification code was e-mailed


def until_app(idp: tuple[str, requests.Session, Outbox], page: requests.Response, **fields: str) -> str:
    """Submit the page's form and follow the stand-in's redirects up to the app's redirect URI (not visited)."""
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action
    answer = idp[1].post(urljoin(page.url, html.unescape(action.group(1))), data=fields, allow_redirects=False, timeout=TIMEOUT)
    while not answer.headers.get("Location", "").startswith(REDIRECT_URI):
        assert answer.status_code in (302, 303), answer.text[:1000]
        answer = idp[1].get(urljoin(answer.url, answer.headers["Location"]), allow_redirects=False, timeout=TIMEOUT)
    return answer.headers["Location"]


def test_a_returning_account_signs_in_with_the_address_locked(app_endpoints: App, idp: tuple[str, requests.Session, Outbox]) -> None:
    email = unique_email("returning")
    sign_in = followed(idp, authorize(idp, app_endpoints.hints().sign(invited(email))))
    link = re.search(r'id="createAccount" href="([^"]+)"', sign_in.text)
    assert link
    sign_up = idp[1].get(urljoin(sign_in.url, html.unescape(link.group(1))), timeout=TIMEOUT)
    until_app(idp, sign_up, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, terms="accepted", action="create")
    # A later invitation for the same mailbox: the sign-in page, prefilled and locked, and the password.
    again = followed(idp, authorize(idp, app_endpoints.hints().sign(invited(email)), state="returning"))
    assert re.search(r'<input id="email"[^>]*readonly', again.text)
    answered = until_app(idp, again, email=email, password=STRONG_PASSWORD, action="signin")
    assert "code=" in answered and "state=returning" in answered


def test_a_returning_account_must_sign_in_with_the_invited_address(app_endpoints: App, idp: tuple[str, requests.Session, Outbox]) -> None:
    email = unique_email("locked")
    sign_in = followed(idp, authorize(idp, app_endpoints.hints().sign(invited(email))))
    other = post_form(idp[1], sign_in, email="someone.else@contoso.example", password=STRONG_PASSWORD, action="signin")
    assert other.status_code == 400 and "invited with" in html.unescape(other.text)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("forged", "AADB2C90233"),
        ("expired", "AADB2C90208"),
        ("other-audience", "AADB2C90209"),
        ("other-issuer", "AADB2C90210"),
        ("not-yet-valid", "AADB2C90210"),
    ],
)
def test_a_bad_hint_is_refused_with_b2cs_code(app_endpoints: App, idp: tuple[str, requests.Session, Outbox], case: str, code: str) -> None:
    invitation = invited(unique_email("refused"))
    now = app_endpoints.now
    hint = {
        "forged": lambda: InvitationHints(app_endpoints.issuer, new_private_key_pem(), None, lambda: now).sign(invitation),
        "expired": lambda: InvitationHints(app_endpoints.issuer, app_endpoints.pem, None, lambda: now - timedelta(minutes=11)).sign(
            invitation
        ),
        "other-audience": lambda: app_endpoints.hints(audience="another-app").sign(invitation),
        "other-issuer": lambda: app_endpoints.hints(issuer="https://attacker.example/api/hint").sign(invitation),
        "not-yet-valid": lambda: InvitationHints(app_endpoints.issuer, app_endpoints.pem, None, lambda: now + timedelta(minutes=5)).sign(
            invitation
        ),
    }[case]()
    assert refusal(authorize(idp, hint, state=f"state-{case}")) == ("invalid_request", code, f"state-{case}")


def test_a_hint_is_taken_once(app_endpoints: App, idp: tuple[str, requests.Session, Outbox]) -> None:
    hint = app_endpoints.hints().sign(invited(unique_email("replayed")))
    first = authorize(idp, hint)
    assert first.status_code in (302, 303) and not first.headers["Location"].startswith(REDIRECT_URI)
    assert refusal(authorize(idp, hint, state="again")) == ("invalid_request", "AADB2C90210", "again")


def test_a_tampered_hint_is_refused(app_endpoints: App, idp: tuple[str, requests.Session, Outbox]) -> None:
    header, payload, signature = app_endpoints.hints().sign(invited(unique_email("tampered"))).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["email"] = "mallory@evil.example"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refusal(authorize(idp, f"{header}.{forged_payload}.{signature}"))[1] == "AADB2C90233"
