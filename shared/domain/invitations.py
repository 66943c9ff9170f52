"""The invitation's rules beside its lifecycle (which is `Invitation`'s methods), written once;
the services apply them, whatever the trigger."""

import string
import uuid
from datetime import datetime, timedelta
from typing import Literal

from shared.domain.errors import InvalidInput
from shared.domain.models import COMPLETED, EXPIRED, REVOKED, Invitation, SignedInUser

# From the e-mail link to B2C's answer. B2C's e-mailed code lives 10 minutes and "Send new code"
# starts another, so a slow sign-up with a re-sent code takes 20-30 minutes: an hour leaves room.
# A later answer is not refused: the invitee is sent to a fresh sign-in (see resume_step), which
# B2C's own session (a day by default) makes one click or none.
SIGN_IN_MAX_AGE_SECONDS = 60 * 60
# How long the browser keeps its sealed state after that, so a late answer, an ended session or
# a second tab still tells which invitation the invitee was on: B2C's default SSO session.
SIGN_IN_REMEMBERED_SECONDS = 24 * 3600

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


ResumeStep = Literal["sign-in", "company-page", "finished", "portal", "blocked"]


def resume_step(invitation: Invitation, signed_in: SignedInUser | None, now: datetime) -> ResumeStep:
    """Where an invitee belongs, however they arrived (the link again, a second tab, Back, a late or
    used sign-in answer, an ended session): never a dead end. `signed_in` is the account of this
    browser's session for this invitation, if any.

    - "finished": completed by this browser's account → the welcome page;
    - "portal": completed, and this browser cannot tell by whom → the portal's sign-in;
    - "blocked": revoked or expired → the page that says whom to ask;
    - "company-page": accepted by this browser's account;
    - "sign-in": anything else → a fresh sign-in (B2C's session makes it one click or none)."""
    status = invitation.effective_status(now)
    if status == COMPLETED:
        completed_by = invitation.completion.account.object_id if invitation.completion else None
        return "finished" if signed_in is not None and signed_in.object_id == completed_by else "portal"
    if status in (REVOKED, EXPIRED):
        return "blocked"
    if signed_in is not None and invitation.is_accepted_by(signed_in):
        return "company-page"
    return "sign-in"


def answer_redeemable(*, state_matches: bool, started_at: datetime, now: datetime) -> bool:
    """Whether B2C's answer may be redeemed with the flow this browser holds: it answers that flow
    (not one another tab replaced) and came within SIGN_IN_MAX_AGE_SECONDS. Otherwise the invitee
    resumes (resume_step) instead of being refused."""
    return state_matches and now - started_at <= timedelta(seconds=SIGN_IN_MAX_AGE_SECONDS)


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
