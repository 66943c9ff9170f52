"""SignInService over the fakes: the sign-in request for the invitee, and what becomes of the identity
platform's answer (accepted, the mailbox rule REQUIRE_MATCHING_EMAIL, used, failed, unavailable,
taken by another account, blocked, held when storage fails after the redemption, and resumed)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from shared.domain.errors import Unavailable
from shared.domain.models import Invitation, InvitationStatus, InvitationView, SignedInUser
from shared.services.invitations import InvitationService
from shared.services.sign_in import SignInOutcome, SignInService
from tests.fakes.identity import FakeIdentityProvider
from tests.fakes.stores import MemoryUsers
from tests.unit.services.conftest import Fakes, account, create


@pytest.fixture
def invited(invitation_service: InvitationService) -> InvitationView:
    return create(invitation_service, language="fr")


def signed_in(sign_in: SignInService, identity: FakeIdentityProvider, invitation_id: str, user: SignedInUser) -> SignInOutcome:
    """The whole round: the sign-in page for the invitation, `user` signing in there, the answer back."""
    url, flow = sign_in.begin(sign_in.invitations.get(invitation_id), force_login=False)
    return sign_in.finish(flow, invitation_id, identity.sign_in(url, user))


def test_the_sign_in_page_is_asked_for_the_invitee_in_the_invitations_language(
    sign_in: SignInService, identity: FakeIdentityProvider, invited: InvitationView
) -> None:
    for force_login in (False, True):
        url, flow = sign_in.begin(sign_in.invitations.get(invited.id), force_login=force_login)
        asked = parse_qs(urlsplit(url).query)
        assert (asked["login_hint"], asked["ui_locales"], asked["state"]) == ([invited.invitee.email], ["fr"], [flow["state"]])
        assert asked.get("prompt") == (["login"] if force_login else None)


def test_the_invitee_signing_in_accepts_the_invitation_and_is_recorded(
    sign_in: SignInService, identity: FakeIdentityProvider, users: MemoryUsers, fakes: Fakes, invited: InvitationView
) -> None:
    anna = account(invited.invitee.email)
    outcome = signed_in(sign_in, identity, invited.id, anna)
    assert (outcome.kind, outcome.user) == ("accepted", anna)
    assert outcome.invitation.status == InvitationStatus.ACCEPTED and outcome.invitation.is_accepted_by(anna)
    assert users.sign_ins[anna.object_id] == (anna, fakes.clock())


def test_the_mailbox_compares_without_case_of_ascii_letters(
    sign_in: SignInService, identity: FakeIdentityProvider, invited: InvitationView
) -> None:
    outcome = signed_in(sign_in, identity, invited.id, account(invited.invitee.email.upper()))
    assert outcome.kind == "accepted"


def test_with_require_matching_email_another_mailbox_is_the_wrong_account(
    sign_in: SignInService, identity: FakeIdentityProvider, users: MemoryUsers, invited: InvitationView
) -> None:
    other = account("someone.else@contoso.example")
    outcome = signed_in(sign_in, identity, invited.id, other)
    assert (outcome.kind, outcome.user, outcome.invitation.id) == ("wrong-account", other, invited.id)
    assert sign_in.invitations.get(invited.id).status == InvitationStatus.PENDING
    assert users.sign_ins == {}, "nothing recorded for an account that may not redeem"


def test_without_require_matching_email_any_mailbox_may_accept(
    fakes: Fakes, invitation_service: InvitationService, identity: FakeIdentityProvider, users: MemoryUsers, invited: InvitationView
) -> None:
    lenient = SignInService(invitation_service, users, identity, fakes.clock, require_matching_email=False)
    outcome = signed_in(lenient, identity, invited.id, account("someone.else@contoso.example"))
    assert outcome.kind == "accepted"


def test_the_same_account_signing_in_twice_is_one_acceptance(
    sign_in: SignInService, identity: FakeIdentityProvider, invitation_service: InvitationService, invited: InvitationView
) -> None:
    anna = account(invited.invitee.email)
    assert [signed_in(sign_in, identity, invited.id, anna).kind for _ in range(2)] == ["accepted", "accepted"]
    assert [event.action for event in invitation_service.read(invited.id).history].count("accepted") == 1


def test_another_account_after_the_acceptance_finds_it_taken(
    sign_in: SignInService, identity: FakeIdentityProvider, invited: InvitationView
) -> None:
    anna = account(invited.invitee.email)
    signed_in(sign_in, identity, invited.id, anna)
    outcome = signed_in(sign_in, identity, invited.id, account(invited.invitee.email, object_id="oid-second-account"))
    assert outcome.kind == "taken" and outcome.invitation.is_accepted_by(anna)


def test_an_invitation_revoked_during_the_sign_in_is_blocked(
    sign_in: SignInService, identity: FakeIdentityProvider, invitation_service: InvitationService, invited: InvitationView
) -> None:
    url, flow = sign_in.begin(invitation_service.get(invited.id), force_login=False)
    invitation_service.revoke(invited.id, "staff")
    outcome = sign_in.finish(flow, invited.id, identity.sign_in(url, account(invited.invitee.email)))
    assert (outcome.kind, outcome.blocked, outcome.invitation.status) == ("blocked", "invitation-revoked", InvitationStatus.REVOKED)


def test_the_same_answer_again_is_used(sign_in: SignInService, identity: FakeIdentityProvider, invited: InvitationView) -> None:
    url, flow = sign_in.begin(sign_in.invitations.get(invited.id), force_login=False)
    answer = identity.sign_in(url, account(invited.invitee.email))
    assert sign_in.finish(flow, invited.id, answer).kind == "accepted"
    used = sign_in.finish(flow, invited.id, answer)
    assert (used.kind, used.invitation.id) == ("used", invited.id)


def test_the_platforms_refusal_is_a_failed_sign_in_with_its_reason(
    sign_in: SignInService, identity: FakeIdentityProvider, invited: InvitationView
) -> None:
    url, flow = sign_in.begin(sign_in.invitations.get(invited.id), force_login=False)
    outcome = sign_in.finish(flow, invited.id, identity.refuse(url))
    assert outcome.kind == "failed" and outcome.failure is not None and outcome.failure.error == "access_denied"
    assert outcome.invitation.id == invited.id, "the page explains it with the invitation"
    assert sign_in.invitations.get(invited.id).status == InvitationStatus.PENDING


def test_a_platform_down_at_the_redemption_is_unavailable(
    sign_in: SignInService, identity: FakeIdentityProvider, users: MemoryUsers, invited: InvitationView
) -> None:
    url, flow = sign_in.begin(sign_in.invitations.get(invited.id), force_login=False)
    answer = identity.sign_in(url, account(invited.invitee.email))
    identity.down = True
    unavailable = sign_in.finish(flow, invited.id, answer)
    assert (unavailable.kind, unavailable.invitation.id) == ("unavailable", invited.id)
    assert users.sign_ins == {} and sign_in.invitations.get(invited.id).status == InvitationStatus.PENDING


def test_storage_failing_after_the_redemption_holds_the_signed_in_user(
    sign_in: SignInService, identity: FakeIdentityProvider, users: MemoryUsers, invited: InvitationView
) -> None:
    """The platform has spent the code: the outcome keeps who signed in, and nothing is accepted yet."""
    anna = account(invited.invitee.email)
    users.down = True
    held = signed_in(sign_in, identity, invited.id, anna)
    assert (held.kind, held.user, held.invitation.id) == ("held", anna, invited.id)
    assert sign_in.invitations.get(invited.id).status == InvitationStatus.PENDING


def test_a_held_sign_in_resumes_to_the_acceptance_once_storage_answers(
    sign_in: SignInService, identity: FakeIdentityProvider, users: MemoryUsers, invited: InvitationView
) -> None:
    anna = account(invited.invitee.email)
    users.down = True
    held = signed_in(sign_in, identity, invited.id, anna)
    assert held.user is not None
    assert sign_in.resume(invited.id, held.user).kind == "held", "still down: held again, never spent"
    users.down = False
    resumed = sign_in.resume(invited.id, held.user)
    assert (resumed.kind, resumed.user) == ("accepted", anna) and resumed.invitation.is_accepted_by(anna)
    assert sign_in.resume(invited.id, held.user).kind == "accepted", "a second retry is the same acceptance"


def test_a_held_sign_in_whose_accept_failed_mid_write_resumes_once(
    sign_in: SignInService, identity: FakeIdentityProvider, fakes: Fakes, invited: InvitationView, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = account(invited.invitee.email)
    with monkeypatch.context() as outage:
        outage.setattr(fakes.invitations, "replace", _unavailable)
        held = signed_in(sign_in, identity, invited.id, anna)
    assert held.kind == "held" and held.user == anna
    assert sign_in.resume(invited.id, anna).kind == "accepted"


def test_resuming_keeps_the_mailbox_rule(sign_in: SignInService, invited: InvitationView) -> None:
    """A held sign-in is checked again like a fresh one: another mailbox is still the wrong account."""
    assert sign_in.resume(invited.id, account("someone.else@example.org")).kind == "wrong-account"
    assert sign_in.resume(invited.id, account(invited.invitee.email)).kind == "accepted"


def _unavailable(*args: object) -> None:
    raise Unavailable("Storage cannot be reached (Invitations).", code="storage-unavailable")


class SignedHints:
    """SignInHints in memory: the invitation it signed, as a readable token."""

    def sign(self, invitation: Invitation) -> str:
        return f"hint-for-{invitation.id}"


def test_with_hints_the_sign_in_request_carries_the_invitation_signed(
    fakes: Fakes, invitation_service: InvitationService, users: MemoryUsers, identity: FakeIdentityProvider, invited: InvitationView
) -> None:
    sign_in = SignInService(invitation_service, users, identity, fakes.clock, require_matching_email=True, hints=SignedHints())
    url, _ = sign_in.begin(invitation_service.get(invited.id), force_login=False)
    asked = parse_qs(urlsplit(url).query)
    assert asked["id_token_hint"] == [f"hint-for-{invited.id}"]
    assert asked["login_hint"] == [invited.invitee.email]  # still sent: the returning account's page prefills it


def test_without_hints_the_sign_in_request_carries_no_id_token_hint(
    sign_in: SignInService, invitation_service: InvitationService, invited: InvitationView
) -> None:
    url, _ = sign_in.begin(invitation_service.get(invited.id), force_login=False)
    assert "id_token_hint" not in parse_qs(urlsplit(url).query)
