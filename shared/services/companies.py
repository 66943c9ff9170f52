"""The company page and CREATE COMPANY: the completion is the decision (one guarded write of the
invitation); the company-create worker then writes the company and its admin membership from it."""

import logging
from dataclasses import dataclass

from shared.domain import invitations as rules
from shared.domain.errors import AlreadyExists, NotFound, Unavailable
from shared.domain.models import (
    COMPLETED,
    Company,
    CompanyCreateMessage,
    CompanyData,
    CompanyForm,
    Completion,
    Invitation,
    SignedInUser,
)
from shared.queue_names import COMPANY_CREATE
from shared.services.invitations import InvitationService
from shared.services.ports import Clock, CompanyRepository, InvitationLinks, QueueSender, Versioned

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompanyPageAccess:
    """Where the signed-in invitee stands: `loaded` when the company page is the right place,
    else `finished_url` (already completed), `blocked` (a page kind) or `not_theirs`."""

    invitation: Invitation
    loaded: Versioned | None = None
    finished_url: str | None = None
    blocked: str | None = None
    not_theirs: bool = False


class CompanyService:
    def __init__(
        self, invitations: InvitationService, store: CompanyRepository, queues: QueueSender, links: InvitationLinks, clock: Clock
    ) -> None:
        self.invitations, self.store, self.queues, self.links, self.clock = invitations, store, queues, links, clock

    def access(self, invitation_id: str, user: SignedInUser) -> CompanyPageAccess:
        """One read of the invitation decides; its ETag travels on to `complete`."""
        loaded = self.invitations.load(invitation_id)
        invitation = loaded.invitation
        if invitation.effective_status(self.clock()) == COMPLETED:
            if invitation.completion and invitation.completion.account.object_id != user.object_id:
                return CompanyPageAccess(invitation, not_theirs=True)  # an account staff reset away
            # The welcome page, always: its button leads on to the invitation's redirectUrl, else the portal.
            return CompanyPageAccess(invitation, finished_url=self.links.welcome())
        if kind := self.invitations.redemption_block(invitation):
            return CompanyPageAccess(invitation, blocked=kind)
        if not invitation.is_accepted_by(user):
            return CompanyPageAccess(invitation, not_theirs=True)
        return CompanyPageAccess(invitation, loaded=loaded)

    def complete(self, current: Versioned, form: CompanyForm, user: SignedInUser) -> Invitation:
        """CREATE COMPANY: the guarded write accepted → completed records the company to create and
        its admin; then the company-create worker is asked to write them. Safe to repeat."""
        now = self.clock()
        completion = Completion(
            company_id=rules.company_id_for(current.invitation.id),
            company=CompanyData.model_validate(form.model_dump(exclude={"contact_name"})),
            contact_name=form.contact_name,
            account=user,
            completed_at=now,
            updated_at=now,
        )
        completed = self.invitations.complete(current, completion)
        if completed.completion and completed.completion.status == "pending":
            self.request_creation(completed)
        return completed

    def request_creation(self, invitation: Invitation) -> None:
        """Enqueue the completion's company-create message; if the queue is down, the sweeper will."""
        assert invitation.completion is not None
        message = CompanyCreateMessage(invitation_id=invitation.id, company_id=invitation.completion.company_id)
        try:
            self.queues.send(COMPANY_CREATE, message.model_dump(mode="json", by_alias=True))
        except Unavailable as error:
            log.warning("Company of invitation %s not enqueued (%s); the sweeper will", invitation.id, error.detail)

    def create_from_completion(self, message: CompanyCreateMessage) -> None:
        """The company-create worker: write the company and its one admin (the completing account)
        from the invitation's completion, then mark it created. A stale or repeated message is a no-op."""
        try:
            loaded = self.invitations.load(message.invitation_id)
        except NotFound:
            log.warning("company-create for unknown invitation %s ignored", message.invitation_id)
            return
        invitation, completion = loaded.invitation, loaded.invitation.completion
        if invitation.status != COMPLETED or completion is None or completion.company_id != message.company_id:
            log.warning("company-create for invitation %s ignored: no such completion", invitation.id)
            return
        if completion.status != "pending":
            return  # created already, or given up on (failed): nothing to do
        company = Company(
            id=completion.company_id,
            invitation_id=invitation.id,
            data=completion.company,
            created_at=completion.completed_at,
            created_by=completion.account,
        )
        try:
            # Deterministic keys: a redelivery meets the rows the first delivery wrote.
            self.store.insert(company, role=invitation.role, member_name=completion.contact_name, at=completion.completed_at)
        except AlreadyExists:
            pass
        self.invitations.record_company(loaded, "created", None)

    def note_error(self, message: CompanyCreateMessage, error: str) -> None:
        """Keep an attempt's error on the pending completion, so a poisoned message can show it."""
        try:
            self.invitations.note_company_error(message.invitation_id, message.company_id, error)
        except Exception:  # the error being noted may well be storage's; the retry is what matters
            log.exception("Could not note the company error of invitation %s", message.invitation_id)

    def creation_failed(self, message: CompanyCreateMessage) -> None:
        """A company-create message was poisoned: the completion shows `failed` with the last error."""
        try:
            loaded = self.invitations.load(message.invitation_id)
        except NotFound:
            return
        completion = loaded.invitation.completion
        if completion is None or completion.company_id != message.company_id or completion.status != "pending":
            return
        error = completion.error or "The company could not be created (no error was recorded)."
        self.invitations.record_company(loaded, "failed", error)
