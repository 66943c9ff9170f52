"""The company page: who may see it, and CREATE COMPANY (company + membership, then completion)."""

from dataclasses import dataclass

from shared.adapters.tables.companies import CompanyStore
from shared.adapters.tables.invitations import Loaded
from shared.domain import invitations as rules
from shared.domain.errors import AlreadyExists
from shared.domain.invitations import COMPLETED
from shared.domain.models import Company, CompanyData, CompanyForm, Invitation, SignedInUser
from shared.services import Clock, InvitationLinks
from shared.services.invitations import InvitationService


@dataclass(frozen=True)
class CompanyPageAccess:
    """Where the signed-in invitee stands: `loaded` when the company page is the right place,
    else `finished_url` (already completed), `blocked` (a page kind) or `not_theirs`."""

    invitation: Invitation
    loaded: Loaded | None = None
    finished_url: str | None = None
    blocked: str | None = None
    not_theirs: bool = False


class CompanyService:
    def __init__(self, invitations: InvitationService, store: CompanyStore, links: InvitationLinks, clock: Clock) -> None:
        self.invitations, self.store, self.links, self.clock = invitations, store, links, clock

    def finished_url(self, invitation: Invitation) -> str:
        """Where the invitee goes once the company exists: the invitation's redirect or the portal."""
        return invitation.redirect_url or self.links.welcome()

    def access(self, invitation_id: str, user: SignedInUser) -> CompanyPageAccess:
        """One read of the invitation decides; its ETag travels on to `create`."""
        invitation, etag = self.invitations.load(invitation_id)
        if invitation.effective_status(self.clock()) == COMPLETED:
            return CompanyPageAccess(invitation, finished_url=self.finished_url(invitation))
        if kind := self.invitations.redemption_block(invitation):
            return CompanyPageAccess(invitation, blocked=kind)
        if not rules.accepted_by(invitation, user):
            return CompanyPageAccess(invitation, not_theirs=True)
        return CompanyPageAccess(invitation, loaded=(invitation, etag))

    def create(self, current: Loaded, form: CompanyForm, user: SignedInUser) -> Invitation:
        """Create company + membership once, then complete the invitation; safe to repeat."""
        invitation = current[0]
        company_id = rules.company_id_for(invitation.id)
        now = self.clock()
        company = Company(
            id=company_id,
            invitation_id=invitation.id,
            data=CompanyData.model_validate(form.model_dump(exclude={"contact_name"})),
            created_at=now,
            created_by=user,
        )
        try:
            self.store.insert(company, role=invitation.role, member_name=form.contact_name, at=now)
        except AlreadyExists:
            pass  # a double submit or a retry: the first one created it
        return self.invitations.complete(current, company_id, user)

    def company_of(self, invitation_id: str) -> tuple[Invitation, Company | None]:
        invitation = self.invitations.get(invitation_id)
        return invitation, self.store.get(invitation.company_id) if invitation.company_id else None
