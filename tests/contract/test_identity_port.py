"""The IdentityProvider contract, held against the fake (tests/fakes/identity.py) and the MSAL adapter
(shared.adapters.identity.B2CSignIn) against the local B2C (tools/idp, a node process: marked
`azurite`, which means any local process). A person signs in through the local B2C's pages as the
function tests' invitee does (tests/test_invitee_pages.Invitee); with the fake, the test names the user.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from pydantic import AnyHttpUrl

from shared.adapters.identity import B2CSignIn
from shared.domain.errors import Gone, SignInFailed, Unavailable
from shared.domain.models import SignedInUser
from shared.services.ports import IdentityProvider
from shared.settings import Settings
from tests.fakes.identity import FakeIdentityProvider
from tests.support import unique_email
from tests.test_invitee_pages import Invitee
from tests.test_local_b2c import issuer_when_ready, start_idp
from tools.localstack.stack import free_port

APP_URL = "http://localhost:7071"  # the default PUBLIC_BASE_URL, whose callback the local B2C knows
CALLBACK = f"{APP_URL}/api/InviteUser/callback"

Answer = Callable[[str, str], dict[str, str]]  # (sign-in page URL, e-mail) -> the platform's redirect query


@dataclass(frozen=True)
class Platform:
    identity: IdentityProvider
    sign_in: Answer  # a person with this address signs in (a work account)
    cancel: Callable[[str], dict[str, str]]  # the person cancels on the sign-in page
    unreachable: Callable[[], IdentityProvider]  # a provider whose platform nobody serves


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(scope="module")
def local_b2c(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The local B2C (its issuer host, its CA file), knowing the app's default callback."""
    folder = tmp_path_factory.mktemp("local-b2c")
    process = start_idp(folder, IDP_REDIRECT_URIS=CALLBACK)
    try:
        issuer = urlsplit(issuer_when_ready(process))
        yield urlunsplit((issuer.scheme, issuer.netloc, "", "", "")), folder / "certs" / "ca.pem"
    finally:
        process.terminate()
        process.wait(30)


def fake_platform() -> Platform:
    fake = FakeIdentityProvider()

    def sign_in(url: str, email: str) -> dict[str, str]:
        return fake.sign_in(url, SignedInUser(object_id=f"oid-{email}", email=email, name=email, account_type="work"))

    def unreachable() -> IdentityProvider:
        down = FakeIdentityProvider()
        down.down = True
        return down

    return Platform(fake, sign_in, fake.refuse, unreachable)


def local_platform(request: pytest.FixtureRequest) -> Platform:
    host, ca_file = request.getfixturevalue("local_b2c")
    request.getfixturevalue("monkeypatch").setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # MSAL's requests trust the local CA

    def browser(email: str) -> Invitee:
        return Invitee(SimpleNamespace(base_url=APP_URL, ca_bundle=ca_file), {"id": "", "invitee": {"email": email}})

    return Platform(
        B2CSignIn(Settings(b2c_authority_host=AnyHttpUrl(host)), CALLBACK),
        lambda url, email: query(browser(email).at_idp(url, kind="work")),
        lambda url: query(browser("nobody@contoso.example").at_idp(url, kind="cancel")),
        lambda: B2CSignIn(Settings(b2c_authority_host=AnyHttpUrl(f"https://127.0.0.1:{free_port()}")), CALLBACK),
    )


@pytest.fixture(params=["fake", pytest.param("local-b2c", marks=pytest.mark.azurite)])
def platform(request: pytest.FixtureRequest) -> Platform:
    return fake_platform() if request.param == "fake" else local_platform(request)


@pytest.mark.parametrize("force_login", [False, True])
def test_begin_gives_the_sign_in_page_for_the_invitee_and_its_flow(platform: Platform, force_login: bool) -> None:
    url, flow = platform.identity.begin(login_hint="anna@contoso.example", ui_locales="de", force_login=force_login)
    asked = query(url)
    assert (asked["login_hint"], asked["ui_locales"], asked.get("prompt")) == (
        "anna@contoso.example",
        "de",
        "login" if force_login else None,
    )
    assert asked["state"] == flow["state"]
    assert asked["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest(), "the request carries the nonce's hash"
    _, another = platform.identity.begin(login_hint="anna@contoso.example", ui_locales="de", force_login=force_login)
    assert (another["state"], another["nonce"]) != (flow["state"], flow["nonce"]), "every flow has its own"


def test_extra_query_parameters_travel_with_the_sign_in_request(platform: Platform) -> None:
    url, _ = platform.identity.begin(
        login_hint="anna@contoso.example", ui_locales="de", force_login=False, extra_query={"id_token_hint": "a.signed.hint"}
    )
    assert (query(url)["id_token_hint"], query(url)["ui_locales"]) == ("a.signed.hint", "de")


def test_redeem_gives_the_user_who_signed_in_and_works_once(platform: Platform) -> None:
    email = unique_email("identity")
    url, flow = platform.identity.begin(login_hint=email, ui_locales="en", force_login=False)
    answer = platform.sign_in(url, email)
    user = platform.identity.redeem(flow, answer)
    assert user.email == email and user.object_id
    with pytest.raises(Gone):
        platform.identity.redeem(flow, answer)  # a code is redeemed once


def test_an_answer_for_another_flow_is_refused(platform: Platform) -> None:
    email = unique_email("identity")
    url, _ = platform.identity.begin(login_hint=email, ui_locales="en", force_login=False)
    _, other = platform.identity.begin(login_hint=email, ui_locales="en", force_login=False)
    with pytest.raises(SignInFailed):
        platform.identity.redeem(other, platform.sign_in(url, email))


def test_the_platforms_error_redirect_is_a_failed_sign_in(platform: Platform) -> None:
    url, flow = platform.identity.begin(login_hint="anna@contoso.example", ui_locales="en", force_login=False)
    answer = platform.cancel(url)
    with pytest.raises(SignInFailed) as refused:
        platform.identity.redeem(flow, answer)
    assert (refused.value.error, refused.value.description) == (answer["error"], answer["error_description"])
    assert refused.value.description.startswith("AADB2C90091")


def test_an_unreachable_platform_is_unavailable(platform: Platform) -> None:
    with pytest.raises(Unavailable):
        platform.unreachable().begin(login_hint="anna@contoso.example", ui_locales="en", force_login=False)
    _, flow = platform.identity.begin(login_hint="anna@contoso.example", ui_locales="en", force_login=False)
    with pytest.raises(Unavailable):
        platform.unreachable().redeem(flow, {"state": flow["state"], "code": "any"})
