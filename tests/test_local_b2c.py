"""The local B2C (tools/idp/) started on its own with settings the shared stack does not use: a
verification code that expires at once, a clock the test moves on, and start-up refusals that name the
problem."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import requests

from shared.adapters.tenant_discovery import EntraTenantDiscovery
from tests.local_b2c import STRONG_PASSWORD, verification_code
from tests.support import Outbox, tenant_guid, unique_email
from tools.localstack.make_certs import ensure_certs
from tools.localstack.stack import ROOT, free_port

TIMEOUT = 30
REDIRECT_URI = "http://localhost:9/callback"  # registered, never visited: the tests stop at the redirect


def start_idp(folder: Path, **env: str) -> subprocess.Popen[str]:
    certs = ensure_certs(folder / "certs")
    base_env = {
        "PATH": os.environ["PATH"],
        "IDP_PORT": str(free_port()),
        "IDP_TLS_CERT": str(certs.cert),
        "IDP_TLS_KEY": str(certs.key),
        "IDP_REDIRECT_URIS": REDIRECT_URI,
        "IDP_DATA_DIR": str(folder / "idp"),
        "IDP_OUTBOX_DIR": str(folder / "outbox"),
    }
    return subprocess.Popen(
        ["node", str(ROOT / "tools" / "idp" / "server.mjs")],
        env={**base_env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def issuer_when_ready(process: subprocess.Popen[str]) -> str:
    """The issuer a started IdP prints once it listens (its output read up to that line)."""
    assert process.stdout
    output = ""
    while not (match := re.search(r"IdP ready at (https://\S+)", output)):
        line = process.stdout.readline()
        assert line, f"the IdP exited: {output}"
        output += line
    return match.group(1)


# Loaded before the IdP (NODE_OPTIONS=--import): Date.now runs the milliseconds in the file ahead, so
# a test moves the IdP's clock (its codes', oidc-provider's interactions') on without sleeping.
CLOCK_SHIFT = """import { readFileSync } from 'node:fs';
const realNow = Date.now;
Date.now = () => realNow() + Number(readFileSync(process.env.IDP_TEST_CLOCK_FILE, 'utf8') || 0);
"""


def started(process: subprocess.Popen[str], folder: Path) -> Iterator[tuple[str, requests.Session, Outbox]]:
    """A started IdP's issuer, a client that trusts its certificate, its outbox; stopped afterwards."""
    try:
        issuer = issuer_when_ready(process)
        client = requests.Session()
        client.trust_env = False
        client.verify = str(folder / "certs" / "ca.pem")
        yield issuer, client, Outbox(folder / "outbox")
    finally:
        process.terminate()
        process.wait(TIMEOUT)


@pytest.fixture
def expiring_idp(tmp_path: Path) -> Iterator[tuple[str, requests.Session, Outbox]]:
    """An IdP whose verification codes expire as soon as they are sent; its issuer, a client, its outbox."""
    yield from started(start_idp(tmp_path, IDP_CODE_TTL_SECONDS="0"), tmp_path)


@pytest.fixture
def idp_with_a_clock(tmp_path: Path) -> Iterator[tuple[str, requests.Session, Outbox, Path]]:
    """An IdP with B2C's lifetimes whose clock the test moves on: write milliseconds to the yielded file."""
    (tmp_path / "clock.mjs").write_text(CLOCK_SHIFT)
    clock = tmp_path / "clock-ms"
    clock.write_text("0")
    process = start_idp(tmp_path, NODE_OPTIONS=f"--import={(tmp_path / 'clock.mjs').as_uri()}", IDP_TEST_CLOCK_FILE=str(clock))
    for issuer, client, outbox in started(process, tmp_path):
        yield issuer, client, outbox, clock


def form_action(page: requests.Response) -> str:
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, page.text[:2000]
    return urljoin(page.url, html.unescape(action.group(1)))


def post_form(client: requests.Session, page: requests.Response, **fields: str) -> requests.Response:
    return client.post(form_action(page), data=fields, timeout=TIMEOUT)


def code_page_of_a_sign_up(issuer: str, client: requests.Session, email: str) -> requests.Response:
    """A sign-in started as the app starts it, "Sign up now", e-mail and password sent: the code page."""
    endpoint = client.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT).json()["authorization_endpoint"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(secrets.token_bytes(32)).digest()).rstrip(b"=").decode()
    query = {
        "client_id": "rconnect-invitations-local",
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "openid profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": email,
    }
    sign_in = client.get(f"{endpoint}?{urlencode(query)}", timeout=TIMEOUT)
    assert sign_in.status_code == 200 and 'id="createAccount"' in sign_in.text, sign_in.text[:2000]
    sign_up_link = re.search(r'id="createAccount" href="([^"]+)"', sign_in.text)
    assert sign_up_link
    sign_up = client.get(urljoin(sign_in.url, html.unescape(sign_up_link.group(1))), timeout=TIMEOUT)
    code_page = post_form(client, sign_up, email=email, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="send-code")
    assert code_page.status_code == 200 and 'id="verify"' in code_page.text
    return code_page


def test_an_expired_verification_code_is_refused(expiring_idp: tuple[str, requests.Session, Outbox]) -> None:
    issuer, client, outbox = expiring_idp
    email = unique_email("late")
    code_page = code_page_of_a_sign_up(issuer, client, email)
    refused = post_form(client, code_page, code=verification_code(outbox, email), action="verify")
    assert refused.status_code == 400
    assert "That code is expired. Please request a new code." in html.unescape(refused.text)


def test_a_sign_up_of_20_minutes_with_a_re_sent_code_is_accepted(idp_with_a_clock: tuple[str, requests.Session, Outbox, Path]) -> None:
    """As B2C's: a code lives 10 minutes from being sent, the sign-in an hour. The first code is late at
    minute 12, a new one is sent, and at minute 20 it signs the new account in; the first stays refused."""
    issuer, client, outbox, clock = idp_with_a_clock
    email = unique_email("slow")
    code_page = code_page_of_a_sign_up(issuer, client, email)
    first = verification_code(outbox, email)
    clock.write_text(str(12 * 60_000))
    late = post_form(client, code_page, code=first, action="verify")
    assert late.status_code == 400 and "That code is expired." in html.unescape(late.text)
    resent = post_form(client, late, action="resend")
    assert resent.status_code == 200 and "A new verification code has been sent" in html.unescape(resent.text)
    second = verification_code(outbox, email)
    clock.write_text(str(20 * 60_000))
    if second != first:
        assert post_form(client, resent, code=first, action="verify").status_code == 400
    terms = post_form(client, resent, code=second, action="verify")
    assert terms.status_code == 200 and 'id="accept"' in terms.text, terms.text[:2000]
    # Yes on the terms: redirects through oidc-provider up to the app's callback, with an authorization code.
    answer = client.post(form_action(terms), data={"decision": "yes"}, timeout=TIMEOUT, allow_redirects=False)
    while not answer.headers["Location"].startswith(REDIRECT_URI):
        assert answer.status_code in (302, 303), answer.text[:2000]
        answer = client.get(urljoin(answer.url, answer.headers["Location"]), timeout=TIMEOUT, allow_redirects=False)
    assert "code=" in answer.headers["Location"] and "error" not in answer.headers["Location"], answer.headers["Location"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IDP_CODE_TTL_SECONDS": "soon"}, "IDP_CODE_TTL_SECONDS must be a whole number of seconds"),
        ({"IDP_PORT": "70000"}, "IDP_PORT must be a TCP port"),
        ({"IDP_REDIRECT_URIS": ""}, "missing required environment variable(s): IDP_REDIRECT_URIS"),
    ],
)
def test_the_idp_refuses_to_start_with_a_bad_setting(tmp_path: Path, env: dict[str, str], message: str) -> None:
    process = start_idp(tmp_path, **env)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1 and message in output, output


def test_the_idp_refuses_to_start_on_an_unreadable_accounts_file(tmp_path: Path) -> None:
    (tmp_path / "idp").mkdir()
    (tmp_path / "idp" / "accounts.json").write_text("{not json")
    process = start_idp(tmp_path)
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 1 and "accounts.json" in output, output


def idp_catalogs() -> dict[str, dict[str, str]]:
    """The local B2C's texts per language, as tools/idp/i18n.mjs has them (French typography applied)."""
    script = (
        "import { LANGUAGES, catalog } from './tools/idp/i18n.mjs';"
        "console.log(JSON.stringify(Object.fromEntries(LANGUAGES.map((lang) => [lang, catalog(lang)]))));"
    )
    output = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=True
    )
    return dict(json.loads(output.stdout))


# Words that are the same in English and the language (checked by hand): anything else equal to the
# English text is a label left untranslated.
SAME_AS_ENGLISH = {"de": {"optional"}, "it": {"passwordLabel", "no"}, "es": {"no"}}


def test_the_stand_in_speaks_five_languages_with_the_products_name() -> None:
    catalogs = idp_catalogs()
    assert sorted(catalogs) == ["de", "en", "es", "fr", "it"]
    english = catalogs["en"]
    for language, texts in catalogs.items():
        assert texts.keys() == english.keys(), language
        assert all(text.strip() for text in texts.values()), language
        if language != "en":
            same = {key for key, text in texts.items() if text == english[key]}
            assert same == SAME_AS_ENGLISH.get(language, set()), f"{language}: untranslated {same}"
        # The customer sees the product, not the B2C tenant or Microsoft acting for it.
        assert not [text for text in texts.values() if "rconnectdev" in text or "on behalf of" in text], language
        assert "{app}" in texts["mailSubject"], language


def test_french_texts_follow_french_typography() -> None:
    for key, text in idp_catalogs()["fr"].items():
        assert not re.search(r" [:;?!»]|« ", text), f"{key}: a no-break space belongs before :;?!» and after «: {text!r}"
        if key != "passwordRules":  # lists the symbols a password may hold, the straight quote among them
            assert "'" not in text, f"{key}: French takes the typographic apostrophe ’: {text!r}"


def test_the_stand_in_answers_entras_discovery_by_domain(tmp_path: Path) -> None:
    """What the e-mail worker asks before it e-mails an invitation: every domain is a work tenant's
    (the tenant its work accounts sign in from), but those of IDP_NO_TENANT_DOMAINS."""
    process = start_idp(tmp_path, IDP_NO_TENANT_DOMAINS="personal.example")
    try:
        issuer = urlsplit(issuer_when_ready(process))
        session = requests.Session()
        session.trust_env = False
        session.verify = str(tmp_path / "certs" / "ca.pem")
        discovery = EntraTenantDiscovery(f"{issuer.scheme}://{issuer.netloc}", session)
        assert discovery.tenant_of("needs-consent.example") == tenant_guid("needs-consent.example")
        assert discovery.tenant_of("personal.example") is None
    finally:
        process.terminate()
        process.wait(TIMEOUT)
