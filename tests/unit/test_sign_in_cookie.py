"""The sign-in in progress travels in the browser's cookie: MSAL's flow sealed with its invitation,
unreadable and unalterable without SESSION_SECRET, kept SIGN_IN_REMEMBERED_SECONDS so a late answer still names its invitation,
well under a browser's 4 KB per cookie. A held sign-in (storage failed after B2C spent the code)
keeps who signed in, as its own kind of state. (A replayed answer, refused by B2C: test_round_trips.)"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import azure.functions as func
import pytest

from shared.domain.invitations import SIGN_IN_MAX_AGE_SECONDS, SIGN_IN_REMEMBERED_SECONDS
from shared.domain.models import SignedInUser
from shared.settings import get_settings
from web.cookies import (
    COOKIE_NAME,
    cleared_cookie,
    ended_session_invitation,
    held_sign_in,
    held_sign_in_cookie,
    invitee_session,
    pending_sign_in,
    session_cookie,
    sign_in_cookie,
)

# What MSAL 1.x's initiate_auth_code_flow returns (auth_uri dropped), with a long redirect URI.
FLOW: dict[str, Any] = {
    "state": "vW3n0Yd2cX1qJm9aQp4rTg",
    "redirect_uri": "https://invitations.rconnect-production-westeurope.example.com/api/InviteUser/callback",
    "scope": ["openid", "profile", "offline_access"],
    "code_verifier": "Yq3mWJ4x0S2m6H8n1aPq7cVtR9uE5bK0dL3fG6hJ8kM.Zx~-_",
    "nonce": "k2F9sQ7wX1eR4tY6uI8oPa",
    "claims_challenge": None,
}


def browser(set_cookie: str) -> func.HttpRequest:
    """The request a browser sends back after this Set-Cookie."""
    return func.HttpRequest("GET", "http://localhost:7071/api/InviteUser/callback", headers={"Cookie": set_cookie.split(";")[0]}, body=b"")


def test_the_flow_comes_back_whole_with_its_invitation() -> None:
    invitation_id = str(uuid.uuid4())
    pending = pending_sign_in(browser(sign_in_cookie(invitation_id, FLOW)))
    assert pending is not None and pending.progress.invitation_id == invitation_id
    assert pending.progress.flow == FLOW and pending.progress.state == FLOW["state"]
    assert abs(pending.started_at.timestamp() - time.time()) < 5


def test_the_cookie_is_well_under_4_kb() -> None:
    header = sign_in_cookie(str(uuid.uuid4()), FLOW)
    assert len(header) < 1024, len(header)  # browsers keep at most 4096 bytes per cookie


def test_nothing_of_the_flow_is_readable_in_the_cookie() -> None:
    invitation_id = str(uuid.uuid4())
    value = sign_in_cookie(invitation_id, FLOW).split(";")[0].split("=", 1)[1]
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    for secret in (FLOW["state"], FLOW["nonce"], FLOW["code_verifier"], invitation_id):
        assert secret.encode() not in raw and secret not in value


def test_an_altered_or_foreign_cookie_is_no_sign_in() -> None:
    value = sign_in_cookie(str(uuid.uuid4()), FLOW).split(";")[0].split("=", 1)[1]
    for position in (0, len(value) // 2, len(value) - 2):
        flipped = value[:position] + ("A" if value[position] != "A" else "B") + value[position + 1 :]
        assert pending_sign_in(browser(f"{COOKIE_NAME}={flipped}")) is None
    user = SignedInUser(object_id="oid", email="anna@contoso.example", name="Anna", account_type="local")
    session = session_cookie(str(uuid.uuid4()), user)
    assert pending_sign_in(browser(session)) is None, "a session is not a sign-in"
    assert invitee_session(browser(sign_in_cookie(str(uuid.uuid4()), FLOW))) is None, "nor a sign-in a session"


def test_a_late_sign_in_is_remembered_a_day_to_resume_then_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whether its answer may still be redeemed is the domain's call (answer_redeemable), from started_at.
    header = sign_in_cookie(str(uuid.uuid4()), FLOW)
    assert f"Max-Age={SIGN_IN_REMEMBERED_SECONDS}" in header and SIGN_IN_REMEMBERED_SECONDS > SIGN_IN_MAX_AGE_SECONDS
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + SIGN_IN_REMEMBERED_SECONDS - 5)
    assert pending_sign_in(browser(header)) is not None
    monkeypatch.setattr(time, "time", lambda: now + SIGN_IN_REMEMBERED_SECONDS + 5)
    assert pending_sign_in(browser(header)) is None


def test_an_ended_session_still_names_its_invitation(monkeypatch: pytest.MonkeyPatch) -> None:
    invitation_id = str(uuid.uuid4())
    user = SignedInUser(object_id="oid", email="anna@contoso.example", name="Anna", account_type="local")
    header = session_cookie(invitation_id, user)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + get_settings().session_max_age_seconds + 5)
    assert invitee_session(browser(header)) is None, "the session has ended"
    assert ended_session_invitation(browser(header)) == invitation_id, "a fresh sign-in resumes it"


def test_the_cleared_cookie_removes_it() -> None:
    assert cleared_cookie().startswith(f"{COOKIE_NAME}=; Max-Age=0;")


def test_a_held_sign_in_comes_back_with_its_user_and_is_no_session_nor_sign_in() -> None:
    invitation_id = str(uuid.uuid4())
    user = SignedInUser(object_id="oid", email="anna@contoso.example", name="Anna", account_type="local")
    header = held_sign_in_cookie(invitation_id, user)
    held = held_sign_in(browser(header))
    assert held is not None and (held.invitation_id, held.user) == (invitation_id, user)
    assert "anna" not in header and "HttpOnly; Secure; SameSite=Lax" in header
    assert invitee_session(browser(header)) is None and pending_sign_in(browser(header)) is None
    assert held_sign_in(browser(session_cookie(invitation_id, user))) is None, "a session holds no sign-in"
