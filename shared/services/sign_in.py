"""The invitee's sign-in: from the e-mail link to B2C and back to an accepted invitation.

The browser's encrypted cookie names the invitation and the OAuth state; the AuthFlows row
under both holds the flow, so a state is only ever good for the invitation it was issued for.
The invitation is read once, and its ETag carried into the guarded accept.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from shared.adapters.identity import B2CSignIn
from shared.adapters.tables.auth_flows import AuthFlow, AuthFlowStore
from shared.adapters.tables.users import UserStore
from shared.domain import invitations as rules
from shared.domain.errors import Conflict, Gone, SignInFailed, Unavailable
from shared.domain.invitations import MAX_OPEN_SIGN_INS, SIGN_IN_MAX_AGE_SECONDS
from shared.domain.models import Invitation, SignedInUser
from shared.services import Clock
from shared.services.invitations import InvitationService

OutcomeKind = Literal["accepted", "used", "failed", "unavailable", "wrong-account", "taken", "blocked"]


@dataclass(frozen=True)
class SignInOutcome:
    """What became of a sign-in: `accepted` (with `user`), or why not, with the invitation to explain it."""

    kind: OutcomeKind
    invitation: Invitation
    user: SignedInUser | None = None
    failure: SignInFailed | None = None
    blocked: str | None = None  # the page kind when `kind` is "blocked"


class SignInService:
    def __init__(
        self,
        invitations: InvitationService,
        flows: AuthFlowStore,
        users: UserStore,
        identity: B2CSignIn,
        clock: Clock,
        *,
        require_matching_email: bool,
    ) -> None:
        self.invitations, self.flows, self.users, self.identity, self.clock = invitations, flows, users, identity, clock
        self._require_matching_email = require_matching_email

    def begin(self, invitation: Invitation, *, force_login: bool) -> tuple[str, str]:
        """(URL of B2C's sign-in page, OAuth state); the flow itself is stored server-side.
        Unavailable when B2C cannot be reached."""
        flow = self.identity.begin(
            login_hint=invitation.invitee.email, ui_locales=invitation.language, force_login=force_login
        )
        expires_at = self.clock() + timedelta(seconds=SIGN_IN_MAX_AGE_SECONDS)
        record = AuthFlow(state=flow["state"], invitation_id=invitation.id, flow=flow, expires_at=expires_at)
        self.flows.save(record, keep=MAX_OPEN_SIGN_INS, now=self.clock())
        return flow["auth_uri"], flow["state"]

    def remove_expired_flows(self) -> int:
        """Delete the sign-in flows that expired unused (the cleanup timer); how many went."""
        return self.flows.remove_expired(self.clock())

    def finish(self, state: str, cookie_invitation_id: str, response: dict[str, str]) -> SignInOutcome:
        """B2C's redirect: redeem the code, check who signed in, accept the invitation. Each flow works once."""
        try:
            flow = self.flows.consume(cookie_invitation_id, state)
        except Gone:
            return SignInOutcome("used", self.invitations.get(cookie_invitation_id))
        loaded = self.invitations.load(flow.invitation_id)
        invitation = loaded[0]
        if flow.expires_at <= self.clock():
            return SignInOutcome("used", invitation)
        try:
            user = self.identity.redeem(flow.flow, response)
        except SignInFailed as failure:
            return SignInOutcome("failed", invitation, failure=failure)
        except Unavailable:
            return SignInOutcome("unavailable", invitation)
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
