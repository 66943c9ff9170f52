"""Encrypted browser state in one cookie: the sign-in in progress, then the signed-in invitee
(or, while storage fails to record it, the sign-in held for a retry).

The value is a Fernet token (AES-128-CBC and HMAC-SHA256, with its time) under a key derived
from SESSION_SECRET by HKDF, one key per kind of state: without the secret nobody can read the
e-mail, object id, CSRF token or PKCE verifier inside, nor alter it, and a sign-in token is
never read as a session. Its time is the expiry: Fernet's TTL refuses an older token.
HttpOnly, Secure, SameSite=Lax, scoped to /api.
"""

import base64
import secrets
from datetime import UTC, datetime
from functools import lru_cache
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import azure.functions as func
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import BaseModel, ValidationError

from shared.domain.ids import Uuid
from shared.domain.invitations import SIGN_IN_REMEMBERED_SECONDS
from shared.domain.models import SignedInUser
from shared.routes import PREFIX
from shared.settings import get_settings

# One name for both kinds of state, not one per invitation (nor per sign-in, as ASP.NET Core's
# correlation cookies are): a browser has one sign-in in progress, the newest. Opening the link
# again (another tab, another invitation) replaces the older sealed flow, whose answer then
# meets another state and resumes with a fresh sign-in (B2C's session makes it one click or
# none); every name more would be another cookie of ~0.6 KB on each request to /api, and the
# callback would have to pick its cookie by state.
COOKIE_NAME = "rconnect_session"
State = TypeVar("State", bound=BaseModel)


class SignInInProgress(BaseModel):
    """A sign-in gone to B2C: MSAL's auth-code flow (state, nonce, PKCE verifier, redirect URI,
    scopes) sealed with the invitation it was started for, so it only ever redeems for that one."""

    invitation_id: Uuid
    flow: dict[str, Any]

    @property
    def state(self) -> str:
        return str(self.flow.get("state", ""))


class PendingSignIn(BaseModel):
    """A sign-in this browser started, and when: whether its answer may still be redeemed is
    domain.invitations.answer_redeemable's call; a late one still names its invitation."""

    progress: SignInInProgress
    started_at: datetime


class InviteeSession(BaseModel):
    invitation_id: Uuid
    user: SignedInUser
    csrf_token: str

    @classmethod
    def start(cls, invitation_id: str, user: SignedInUser) -> "InviteeSession":
        return cls(invitation_id=invitation_id, user=user, csrf_token=secrets.token_urlsafe(32))


class HeldSignIn(BaseModel):
    """A sign-in the platform completed (its code is spent) whose acceptance storage failed to write:
    who signed in, for which invitation, so a retry accepts without signing in again."""

    invitation_id: Uuid
    user: SignedInUser


class ConsentState(BaseModel):
    """Sealed into the admin-consent link: the invitation it helps and the tenant it was issued for."""

    invitation_id: Uuid | None
    tenant: str


@lru_cache
def _fernet(secret: str, kind: str) -> Fernet:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=f"rconnect.{kind}".encode()).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _box(kind: type[BaseModel]) -> Fernet:
    return _fernet(get_settings().session_secret.get_secret_value(), kind.__name__)


def seal(value: BaseModel) -> str:
    return _box(type(value)).encrypt(value.model_dump_json().encode()).decode()


def unseal(token: str | None, kind: type[State], max_age: int) -> State | None:
    """The value if the token is genuine, of this kind and younger than max_age; else None."""
    if not token:
        return None
    try:
        return kind.model_validate_json(_box(kind).decrypt(token.encode(), ttl=max_age))
    except (InvalidToken, ValidationError):
        return None


def _unseal_dated(token: str | None, kind: type[State], max_age: int) -> tuple[State, datetime] | None:
    value = unseal(token, kind, max_age)
    if value is None or token is None:
        return None
    return value, datetime.fromtimestamp(_box(kind).extract_timestamp(token.encode()), UTC)


def _read_cookie(req: func.HttpRequest) -> str | None:
    cookies = SimpleCookie()
    try:
        cookies.load(req.headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookies.get(COOKIE_NAME)
    return morsel.value if morsel else None


def _cookie_header(value: str, max_age: int) -> str:
    # Secure holds on http://localhost too: browsers treat localhost as a secure context.
    return f"{COOKIE_NAME}={value}; Max-Age={max_age}; Path=/{PREFIX}; HttpOnly; Secure; SameSite=Lax"


def sign_in_cookie(invitation_id: str, flow: dict[str, Any]) -> str:
    """The Set-Cookie value for a sign-in that has gone to B2C: its flow, sealed (~0.6 KB), kept
    SIGN_IN_REMEMBERED_SECONDS so that even a late answer tells which invitation to resume."""
    return _cookie_header(seal(SignInInProgress(invitation_id=invitation_id, flow=flow)), SIGN_IN_REMEMBERED_SECONDS)


def pending_sign_in(req: func.HttpRequest) -> PendingSignIn | None:
    """The sign-in this browser started, if its cookie is genuine (of any age it is kept)."""
    dated = _unseal_dated(_read_cookie(req), SignInInProgress, SIGN_IN_REMEMBERED_SECONDS)
    return PendingSignIn(progress=dated[0], started_at=dated[1]) if dated else None


def cleared_cookie() -> str:
    """The Set-Cookie value that removes the cookie: a sign-in's flow is spent once B2C has answered it."""
    return _cookie_header("", 0)


def session_cookie(invitation_id: str, user: SignedInUser) -> str:
    """The Set-Cookie value for a signed-in invitee (a fresh CSRF token with it). The browser keeps it
    past the session's end, so an ended session still names the invitation to sign in to again."""
    max_age = get_settings().session_max_age_seconds
    return _cookie_header(seal(InviteeSession.start(invitation_id, user)), max(max_age, SIGN_IN_REMEMBERED_SECONDS))


def held_sign_in_cookie(invitation_id: str, user: SignedInUser) -> str:
    """The Set-Cookie value that keeps a held sign-in for as long as a session would last."""
    return _cookie_header(seal(HeldSignIn(invitation_id=invitation_id, user=user)), get_settings().session_max_age_seconds)


def held_sign_in(req: func.HttpRequest) -> HeldSignIn | None:
    return unseal(_read_cookie(req), HeldSignIn, get_settings().session_max_age_seconds)


def invitee_session(req: func.HttpRequest) -> InviteeSession | None:
    """The signed-in invitee, if the session is genuine and younger than SESSION_MAX_AGE_SECONDS."""
    return unseal(_read_cookie(req), InviteeSession, get_settings().session_max_age_seconds)


def ended_session_invitation(req: func.HttpRequest) -> str | None:
    """The invitation of a session that has ended (or not): where a fresh sign-in resumes."""
    remembered = unseal(_read_cookie(req), InviteeSession, max(get_settings().session_max_age_seconds, SIGN_IN_REMEMBERED_SECONDS))
    return remembered.invitation_id if remembered else None
