"""The invitation's rules beside its lifecycle (which is `Invitation`'s methods), written once;
the services apply them, whatever the trigger."""

import string
import uuid
from datetime import datetime

from shared.domain.errors import InvalidInput
from shared.domain.models import COMPLETED, EXPIRED, REVOKED, Invitation, SignedInUser

SIGN_IN_MAX_AGE_SECONDS = 15 * 60  # from the e-mail link to B2C's answer

# The company id derives from the invitation id: a double submit, a retry or the back
# button can only ever address the same company, and the insert refuses a second one.
_COMPANY_NAMESPACE = uuid.UUID("5b0e6a53-6a61-4d6e-9a77-2f1c1b7e0c42")


def company_id_for(invitation_id: str) -> str:
    return str(uuid.uuid5(_COMPANY_NAMESPACE, invitation_id))


def check_redirect_allowed(url: object | None, allowlist: list[str]) -> None:
    """A completion redirect must start with an entry of the allow-list (an origin or URL prefix)."""
    if url is None:
        return
    target = str(url)
    if not any(target == entry or target.startswith((entry + "/", entry + "?")) for entry in allowlist):
        raise InvalidInput(
            f"redirectUrl {target} is not in the allow-list of this service.", code="redirect-not-allowed", pointer="/redirectUrl"
        )


def redemption_block(invitation: Invitation, now: datetime) -> str | None:
    """Why the link can no longer start a sign-in (a page kind), or None if it can."""
    blocked = {REVOKED: "invitation-revoked", EXPIRED: "invitation-expired", COMPLETED: "invitation-completed"}
    return blocked.get(invitation.effective_status(now))


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def same_mailbox(invited: str, signed_in: str) -> bool:
    """The same mailbox: equal code point for code point once A-Z are lower-cased, in the local
    part and the domain. Nothing else is folded or normalized: Unicode case-folding makes
    `straße` and `strasse`, `ſ` and `s`, KELVIN SIGN and `k` one address, and NFKC (and even NFC,
    for KELVIN SIGN) maps look-alikes onto ASCII, so each would let one person's account redeem
    another person's invitation. (The invited address is stored as email-validator normalized it.)"""
    return invited.translate(_ASCII_LOWER) == signed_in.translate(_ASCII_LOWER)


def email_matches(invitation: Invitation, user: SignedInUser, *, required: bool) -> bool:
    """With REQUIRE_MATCHING_EMAIL, only the invited mailbox may redeem the invitation."""
    return not required or same_mailbox(invitation.invitee.email, user.email)
