"""Property-based fuzz (Hypothesis) of the invitee's routes and the company form: never a 5xx.

The staff API has its own document-driven fuzz (test_api_fuzz.py); the invitee's routes have no
OpenAPI document, so their inputs are drawn here: query strings mixing the parameters each route
reads with arbitrary text, raw percent-encoded bytes (invalid UTF-8 included), genuine values
(real invitation ids, a live sign-in cookie, a sealed consent state) and forged cookies. The
company form is posted with a genuine session and CSRF token and arbitrary field values; once a
submission succeeds (303) a new invitee takes over, so the form keeps being exercised.
Derandomized and bounded for CI, with no example database.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, quote, quote_from_bytes, urlencode, urlparse

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Api
from tests.test_invitee_pages import COOKIE, TIMEOUT, Invitee
from tools.localstack.stack import LocalStack

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
ROUTES: dict[str, tuple[str, ...]] = {
    "InviteUser": ("invitationId", "prompt"),
    "InviteUser/callback": ("code", "state", "error", "error_description", "client_info"),
    "AdminConsent": ("invitationId", "tenant"),
    "AdminConsent/callback": ("admin_consent", "tenant", "state", "error", "error_description"),
    "CreateCompany": (),
    "Welcome": (),
}
FORM_FIELDS = ("name", "street", "postal_code", "city", "country", "vat_number", "phone", "website", "contact_name")


class Genuine:
    """Real values from the running stack, so the fuzz reaches past the first checks."""

    def __init__(self, stack: LocalStack, api: Api) -> None:
        pending = Invitee(stack, api.invite())
        started = pending.start()
        revoked = api.invite()
        assert api.post(f"/invitations/{revoked['id']}/revoke").status_code == 200
        signed_in = Invitee(stack, api.invite())
        assert signed_in.sign_in().status_code == 302
        help_page = requests.get(
            f"{stack.base_url}/api/AdminConsent", params={"invitationId": pending.id}, allow_redirects=False, timeout=TIMEOUT
        )
        link = re.search(r'id="consent-url" href="([^"]+)"', help_page.text)
        assert link, help_page.text[:2000]
        # For each parameter the routes read, values of the right kind.
        self.by_parameter: dict[str, list[str]] = {
            "invitationId": [pending.id, revoked["id"], signed_in.id],
            "state": [
                parse_qs(urlparse(started.headers["Location"]).query)["state"][0],
                parse_qs(urlparse(html.unescape(link.group(1))).query)["state"][0],
            ],
            "tenant": ["organizations", "contoso.example", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"],
            "error": ["access_denied", "server_error"],
            "error_description": [
                "AADB2C90273: An invalid response was received : 'Error: x, Error Description: AADSTS65001: y'",
                "AADB2C90091: The user has cancelled entering self-asserted information.",
                "AADSTS65004: User declined to consent to access the app.",
            ],
            "admin_consent": ["True", "False"],
            "prompt": ["login"],
        }
        self.cookies = [pending.cookie or "", signed_in.cookie or ""]


@pytest.fixture(scope="module")
def genuine(stack: LocalStack, api: Api) -> Genuine:
    return Genuine(stack, api)


def text_values() -> st.SearchStrategy[str]:
    # Every code point but surrogates (which no URL or form can carry), often short.
    return st.text(st.characters(codec="utf-8"), max_size=80)


def raw_value() -> st.SearchStrategy[str]:
    """A query value already percent-encoded: arbitrary text, or arbitrary bytes (not always UTF-8)."""
    return st.one_of(
        text_values().map(lambda text: quote(text, safe="")), st.binary(max_size=40).map(lambda raw: quote_from_bytes(raw, safe=""))
    )


# Characters that have broken identifiers before: line breaks, NUL, spaces, bidi overrides, '%'.
TROUBLE = st.sampled_from(["\n", "\r\n", "\x00", " ", "\u202e", "%", "\x85", "'"])


def value_for(genuine: Genuine, name: str) -> st.SearchStrategy[str]:
    """A percent-encoded value for a parameter: a genuine one, one with a troublesome character
    before or after it, or arbitrary text or bytes."""
    real = st.sampled_from(genuine.by_parameter.get(name) or ["x"])
    nearly_real = st.one_of(st.tuples(real, TROUBLE).map("".join), st.tuples(TROUBLE, real).map("".join))
    return st.one_of(real, nearly_real).map(lambda value: quote(value, safe="")) | raw_value()


def assert_no_server_error(response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.request.url, response.text[:1000])
    assert "Traceback" not in response.text
    if response.status_code not in (301, 302, 303, 307, 308):
        assert response.headers.get("Content-Type", "").startswith("text/html"), response.headers


@pytest.mark.parametrize("route", sorted(ROUTES))
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_invitee_routes_never_answer_5xx(stack: LocalStack, genuine: Genuine, route: str, data: st.DataObject) -> None:
    known = ROUTES[route]
    chosen = data.draw(st.lists(st.sampled_from(known), unique=True) if known else st.just([]), label="parameters")
    pairs = [(name, data.draw(value_for(genuine, name), label=name)) for name in chosen]
    extra_names = text_values().filter(bool).map(lambda name: quote(name, safe=""))
    pairs += data.draw(st.lists(st.tuples(extra_names, raw_value()), max_size=2), label="other parameters")
    query = "&".join(f"{name}={value}" for name, value in pairs)
    forged = text_values().map(lambda t: quote(t, safe=""))
    cookie = data.draw(st.one_of(st.none(), st.sampled_from(genuine.cookies), forged), label="cookie")
    headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie is not None else {}
    # Any printable ASCII: a header value with line breaks or leading spaces never reaches the app.
    header_text = text_values().filter(lambda t: t.isascii() and t.isprintable()).map(str.strip)
    language = data.draw(st.one_of(st.none(), header_text), label="accept-language")
    if language:
        headers["Accept-Language"] = language
    url = f"{stack.base_url}/api/{route}" + (f"?{query}" if query else "")
    assert_no_server_error(requests.get(url, headers=headers, allow_redirects=False, timeout=TIMEOUT))


class FormInvitee:
    """A signed-in invitee on the company page; replaced once its company is created."""

    def __init__(self, stack: LocalStack, api: Api) -> None:
        self.stack, self.api = stack, api
        self.renew()

    def renew(self) -> None:
        self.invitee = Invitee(self.stack, self.api.invite())
        assert self.invitee.sign_in().status_code == 302
        self.values = self.invitee.company_form()


@pytest.fixture(scope="module")
def form_invitee(stack: LocalStack, api: Api) -> FormInvitee:
    return FormInvitee(stack, api)


@FUZZ
@given(data=st.data())
def test_the_company_form_never_answers_5xx(form_invitee: FormInvitee, data: st.DataObject) -> None:
    changes = data.draw(
        st.dictionaries(st.one_of(st.sampled_from(FORM_FIELDS), text_values().filter(bool)), text_values(), max_size=5),
        label="changed fields",
    )
    dropped = data.draw(st.sets(st.sampled_from(FORM_FIELDS), max_size=2), label="dropped fields")
    values: dict[str, Any] = {**form_invitee.values, **changes}
    for name in dropped:
        values.pop(name, None)
    invitee = form_invitee.invitee
    response = invitee.app.post(
        f"{invitee.stack.base_url}/api/CreateCompany",
        data=urlencode(values).encode(),
        headers={"Cookie": f"{COOKIE}={invitee.cookie}", "Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert_no_server_error(response)
    assert response.status_code in (303, 422), (response.status_code, changes, response.text[:1000])
    if response.status_code == 303:
        form_invitee.renew()
