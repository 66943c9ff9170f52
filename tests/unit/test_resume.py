"""Resume instead of refuse (shared/domain/invitations.resume_step, answer_redeemable): whatever way an
invitee arrives, the invitation, the browser's sealed state and the time say where they belong."""

from datetime import timedelta

import pytest

from shared.domain import invitations as rules
from shared.domain.models import CompanyData, Completion, Invitation, InvitationStatus, SignedInUser
from tests.unit.test_invitation_rules import NOW, invitation, user

ANNA, OTHER = user("oid-anna"), user("oid-other")


def accepted(by: SignedInUser = ANNA) -> Invitation:
    return invitation(status=InvitationStatus.ACCEPTED, accepted_by=by, accepted_at=NOW)


def completed(by: SignedInUser = ANNA) -> Invitation:
    base = accepted(by)
    company = CompanyData.model_validate(base.company.model_dump())
    completion = Completion(company_id="c", company=company, contact_name="Anna", account=by, completed_at=NOW, updated_at=NOW)
    return base.model_copy(update={"status": InvitationStatus.COMPLETED, "completion": completion})


@pytest.mark.parametrize(
    ("state", "signed_in", "step"),
    [
        # The link again, a second tab, a late or replaced answer: a fresh sign-in, never "already used".
        (invitation(), None, "sign-in"),
        (invitation(), ANNA, "sign-in"),
        # Signed in in this browser (another tab finished first, Back to the link): straight to the company page.
        (accepted(), ANNA, "company-page"),
        # Accepted in another browser, or by the account of a session for another person: sign in here.
        (accepted(), None, "sign-in"),
        (accepted(), OTHER, "sign-in"),
        # Completed: the welcome page for the account that did it, else the portal's sign-in.
        (completed(), ANNA, "finished"),
        (completed(), None, "portal"),
        (completed(), OTHER, "portal"),
        # Withdrawn or out of time: the page that says whom to ask, with the draft if there is one.
        (invitation(status=InvitationStatus.REVOKED), ANNA, "blocked"),
        (accepted().model_copy(update={"expires_at": NOW - timedelta(seconds=1)}), ANNA, "blocked"),
    ],
)
def test_resume_step(state: Invitation, signed_in: SignedInUser | None, step: str) -> None:
    assert rules.resume_step(state, signed_in, NOW) == step


def test_the_slowest_realistic_sign_up_is_redeemed() -> None:
    # Two e-mailed codes of B2C's (10 minutes each) and some hesitation: 20-30 minutes.
    for minutes in (0, 20, 30, 59):
        assert rules.answer_redeemable(state_matches=True, started_at=NOW - timedelta(minutes=minutes), now=NOW)


def test_a_late_or_replaced_answer_is_not_redeemed_but_resumed() -> None:
    late = NOW - timedelta(seconds=rules.SIGN_IN_MAX_AGE_SECONDS + 1)
    assert not rules.answer_redeemable(state_matches=True, started_at=late, now=NOW)
    assert not rules.answer_redeemable(state_matches=False, started_at=NOW, now=NOW), "another tab's flow replaced this one"
    # The browser remembers the sign-in long enough to resume it (B2C's own session lasts a day).
    assert rules.SIGN_IN_REMEMBERED_SECONDS >= 24 * 3600 > rules.SIGN_IN_MAX_AGE_SECONDS >= 20 * 60
