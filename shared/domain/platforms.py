"""The identity platforms the app signs invitees in with (IDENTITY_PLATFORM; docs/decisions/0019)."""

from typing import Literal

IdentityPlatform = Literal["b2c-user-flow", "b2c-custom-policy", "external-id"]
