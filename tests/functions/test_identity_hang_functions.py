"""A hung identity platform: its endpoint accepts connections and never answers. MSAL's calls are
cut within the interactive budget (one try), and the invitee gets the readable 503 page."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from pydantic import AnyHttpUrl

from accept_invitation.email_link import open_invitation_link
from shared.adapters.identity import B2CSignIn
from shared.domain.errors import Unavailable
from shared.settings import Settings
from shared.wiring import Services, services
from tests.functions.conftest import CALLBACK, call, configure, request
from tests.functions.test_invitee_page_functions import new_invitation, page

HANG_ANSWER_SECONDS = 2.5  # issue 20: a hung dependency answers 503 within ~2 s, at most 2.5 s


@pytest.fixture(scope="module")
def silent_platform() -> Iterator[str]:
    """An https URL whose server completes TCP handshakes (the kernel's backlog) and never says a word."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"https://127.0.0.1:{server.getsockname()[1]}"


@pytest.fixture
def hung_platform(app: Services, silent_platform: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    configure(monkeypatch, B2C_AUTHORITY_HOST=silent_platform)
    yield services()
    monkeypatch.undo()
    configure(monkeypatch)  # the module's app again on the next call


@pytest.mark.parametrize("step", ["begin", "redeem"])
def test_each_call_to_a_hung_platform_is_unavailable_within_the_budget(silent_platform: str, step: str) -> None:
    identity = B2CSignIn(Settings(b2c_authority_host=AnyHttpUrl(silent_platform)), CALLBACK)
    started = time.monotonic()
    with pytest.raises(Unavailable):
        if step == "begin":
            identity.begin(login_hint="anna@contoso.example", ui_locales="en", force_login=False)
        else:
            identity.redeem({"state": "s", "redirect_uri": CALLBACK, "scope": ["openid"]}, {"state": "s", "code": "c"})
    assert time.monotonic() - started < HANG_ANSWER_SECONDS


def test_the_link_with_a_hung_platform_is_a_prompt_503_page(hung_platform: Services) -> None:
    invitation_id = new_invitation(hung_platform)
    started = time.monotonic()
    response = call(open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": invitation_id}))
    elapsed = time.monotonic() - started
    assert "Sign-in is not available right now" in page(response, 503)
    assert int(response.headers["Retry-After"]) >= 1 and "Set-Cookie" not in response.headers
    assert elapsed < HANG_ANSWER_SECONDS, f"503 after {elapsed:.2f} s"
