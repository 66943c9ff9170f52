"""What a refused sign-in means, from the identity platform's error codes (AADB2C…, AADSTS…): which
of our pages it deserves on each platform. Pure text rules, shared by the sign-in adapter and the
pages that explain a refusal."""

import re
from typing import Literal

from shared.domain.platforms import IdentityPlatform

_LEADING_CODE = re.compile(r"\s*(AADB2C\d+|AADSTS\d+)\b")
_INNER_CODE = re.compile(r"Error Description:\s*(AADB2C\d+|AADSTS\d+)\b|\b(AADSTS\d+)\b")
_WRAPPED = "AADB2C90273"  # "An invalid response was received": B2C relaying an upstream provider's error

FailureKind = Literal["cancelled", "forgot-password", "consent-required"]
# The work account's Entra tenant has not consented to the app signing its users in (CASE 1): the
# same AADSTS codes whether B2C relays them from its federation or External ID from its OIDC provider.
_CONSENT: dict[str, FailureKind] = dict.fromkeys(("AADSTS65001", "AADSTS90094", "AADSTS90008"), "consent-required")
# Each platform's codes that deserve their own page; any other code is a plain "sign-in failed".
PLATFORM_FAILURES: dict[IdentityPlatform, dict[str, FailureKind]] = {
    # B2C sends the user back with AADB2C90091 for Cancel and AADB2C90118 for "Forgot your password?"
    # (a user flow without self-service reset, and our custom policy, leave the reset to the app).
    "b2c-user-flow": {"AADB2C90091": "cancelled", "AADB2C90118": "forgot-password", **_CONSENT},
    "b2c-custom-policy": {"AADB2C90091": "cancelled", "AADB2C90118": "forgot-password", **_CONSENT},
    # External ID resets passwords inside its own pages and has no Cancel back to the app. Its work accounts
    # sign in at Entra ID, whose "Need admin approval" page returns AADSTS65004 (declined) to the app.
    "external-id": {"AADSTS65004": "consent-required", **_CONSENT},
}


def provider_error_code(description: str) -> str | None:
    """The code an error_description is about: its leading AADB2C/AADSTS code, or for B2C's
    AADB2C90273 wrapper the upstream code inside it (`…'Error: x, Error Description: AADSTS65001: …'`),
    None when the wrapper carries none."""
    leading = _LEADING_CODE.match(description)
    if leading is None:
        return None
    if leading[1] != _WRAPPED:
        return leading[1]
    inner = _INNER_CODE.search(description, leading.end())
    return (inner[1] or inner[2]) if inner else None


def failure_kind(platform: IdentityPlatform, description: str) -> FailureKind | None:
    """Which of our pages a refused sign-in deserves on this platform; None: the generic one."""
    code = provider_error_code(description)
    return PLATFORM_FAILURES[platform].get(code) if code else None
