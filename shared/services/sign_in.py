"""The invitee's sign-in: from the e-mail link to B2C and back to an accepted invitation.

Nothing is stored on the way out. MSAL's auth-code flow (state, nonce, PKCE verifier) travels
sealed with the invitation id in the browser's encrypted cookie (web/cookies.py), the way an
OIDC client's correlation cookie does, and expires with it; B2C's answer must carry the
flow's state. B2C redeems a code once, so the same answer twice is refused there. On the way
back the invitation is read once, and its ETag carried into the guarded accept. Storage failing
after the code is redeemed does not spend the sign-in: the outcome is `held` with the user, whom
the caller keeps (sealed in the cookie) and hands to `resume` once storage answers.
"""

from dataclasses import dataclass
from typing import Any, Literal

from shared.domain import invitations as rules
from shared.domain.errors import Conflict, Gone, SignInFailed, Unavailable
from shared.domain.models import Invitation, SignedInUser
from shared.services.invitations import InvitationService
from shared.services.ports import Clock, IdentityProvider, SignInHints, UserDirectory, Versioned

OutcomeKind = Literal["accepted", "held", "used", "failed", "unavailable", "wrong-account", "taken", "blocked"]


@dataclass(frozen=True)
class SignInOutcome:
    """What became of a sign-in: `accepted` (with `user`), `held` (signed in, with `user`, but storage
    failed before the acceptance was written), or why not, with the invitation to explain it."""

    kind: OutcomeKind
    invitation: Invitation
    user: SignedInUser | None = None
    failure: SignInFailed | None = None
    blocked: str | None = None  # the page kind when `kind` is "blocked"


class SignInService:
    def __init__(
        self,
        invitations: InvitationService,
        users: UserDirectory,
        identity: IdentityProvider,
        clock: Clock,
        *,
        require_matching_email: bool,
        hints: SignInHints | None = None,
    ) -> None:
        self.invitations, self.users, self.identity, self.clock = invitations, users, identity, clock
        self._require_matching_email = require_matching_email
        self._hints = hints  # None: the address is only prefilled (login_hint)

    def begin(self, invitation: Invitation, *, force_login: bool) -> tuple[str, dict[str, Any]]:
        """(URL of B2C's sign-in page, the auth-code flow its answer redeems): nothing is stored, the
        caller keeps the flow (sealed in the browser's cookie). With hints, the request also carries the
        invitation signed (id_token_hint): the link proved the mailbox, so the policy locks the address and
        asks no code. Unavailable when B2C cannot be reached."""
        extra = {"id_token_hint": self._hints.sign(invitation)} if self._hints else None
        return self.identity.begin(
            login_hint=invitation.invitee.email, ui_locales=invitation.language, force_login=force_login, extra_query=extra
        )

    def finish(self, flow: dict[str, Any], invitation_id: str, response: dict[str, str]) -> SignInOutcome:
        """B2C's redirect for `flow`, started for `invitation_id` (the caller checked that the answer's
        state is the flow's): redeem the code, check who signed in, accept the invitation."""
        loaded = self.invitations.load(invitation_id)
        invitation = loaded.invitation
        try:
            user = self.identity.redeem(flow, response)
        except Gone:  # B2C redeems a code once: the same answer again (a replay, a double delivery)
            return SignInOutcome("used", invitation)
        except SignInFailed as failure:
            return SignInOutcome("failed", invitation, failure=failure)
        except Unavailable:
            return SignInOutcome("unavailable", invitation)
        try:
            return self._accept(loaded, user)
        except Unavailable:  # the code is spent at the platform: keep who signed in for `resume`
            return SignInOutcome("held", invitation, user=user)

    def resume(self, invitation_id: str, user: SignedInUser) -> SignInOutcome:
        """Accept for `user`, whose sign-in was `held` (the platform vouched for them; storage failed
        after). Unavailable when the invitation cannot be read yet; `held` again when a write fails."""
        loaded = self.invitations.load(invitation_id)
        try:
            return self._accept(loaded, user)
        except Unavailable:
            return SignInOutcome("held", loaded.invitation, user=user)

    def _accept(self, loaded: Versioned, user: SignedInUser) -> SignInOutcome:
        """Check who signed in, record them, accept the invitation: each outcome of a redeemed sign-in."""
        invitation = loaded.invitation
        if not rules.email_matches(invitation, user, required=self._require_matching_email):
            return SignInOutcome("wrong-account", invitation, user=user)
        self.users.record_sign_in(user, self.clock())
        try:
            accepted = self.invitations.accept(loaded, user)
        except Conflict:
            current = self.invitations.get(invitation.id)
            if kind := self.invitations.redemption_block(current):
                return SignInOutcome("blocked", current, blocked=kind)
            return SignInOutcome("taken", current)
        return SignInOutcome("accepted", accepted, user=user)
