"""Signed browser state: the sign-in in progress, then the signed-in invitee.

Both travel in one HttpOnly cookie signed with SESSION_SECRET (itsdangerous); the
different salts keep a sign-in token from ever being read as a session.
"""

import secrets
from typing import TypeVar

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ValidationError

from shared.models import SignedInUser
from shared.settings import get_settings

COOKIE_NAME = "rconnect_session"
SIGN_IN_MAX_AGE_SECONDS = 15 * 60
State = TypeVar("State", bound=BaseModel)


class SignInInProgress(BaseModel):
    state: str
    invitation_id: str


class InviteeSession(BaseModel):
    invitation_id: str
    user: SignedInUser
    csrf_token: str

    @classmethod
    def start(cls, invitation_id: str, user: SignedInUser) -> "InviteeSession":
        return cls(invitation_id=invitation_id, user=user, csrf_token=secrets.token_urlsafe(32))


def _serializer(kind: type[BaseModel]) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().session_secret.get_secret_value(), salt=f"rconnect.{kind.__name__}")


def seal(value: BaseModel) -> str:
    return _serializer(type(value)).dumps(value.model_dump(mode="json"))


def unseal(token: str | None, kind: type[State], max_age: int) -> State | None:
    """The value if the token is genuine, of this kind and younger than max_age; else None."""
    if not token:
        return None
    try:
        return kind.model_validate(_serializer(kind).loads(token, max_age=max_age))
    except (BadSignature, ValidationError):
        return None


def session_max_age() -> int:
    return get_settings().session_max_age_seconds
