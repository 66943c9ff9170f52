"""CASE 1 before sign-in: does the invitee's domain belong to a Microsoft Entra tenant, and has that
tenant consented to the app?

The e-mail worker asks before it renders the invitation (off the create's request path): the
domain's tenant comes from Entra's discovery document, kept per domain for a day (KNOWN_FOR); the
consent from the AdminConsents log. The finding is kept on the invitation (`work_account`) and the
invitation is listed under its tenant, so that the tenant's consent later updates each of its pending
invitations and tells their invitees by e-mail (its own send, on the `invitation-email` queue). A
lookup that fails changes nothing: the e-mail keeps the admin-approval paragraph.
"""

import logging
from datetime import timedelta
from enum import Enum

from shared.domain.errors import DomainError, NotFound
from shared.domain.models import ConsentState, EmailIntent, Invitation, WorkAccount
from shared.queue_names import INVITATION_EMAIL
from shared.services.invitations import InvitationService
from shared.services.ports import AdminConsentLog, QueueSender, TenantDirectory, TenantDiscovery, Versioned

log = logging.getLogger(__name__)
KNOWN_FOR = timedelta(days=1)  # a domain rarely changes tenant; a newly verified one shows up within a day


class Finding(Enum):
    """What the lookup found when it found no work tenant's account."""

    NOT_WORK = "not-work"  # no work tenant verified the domain: no admin approval can be needed
    UNKNOWN = "unknown"  # the lookup failed: nothing is known


def needs_approval_help(finding: WorkAccount | Finding) -> bool:
    """Whether the invitation e-mail keeps the admin-approval paragraph: unless the tenant consented
    or the domain belongs to no work tenant."""
    if isinstance(finding, WorkAccount):
        return finding.consent != "granted"
    return finding is Finding.UNKNOWN


class WorkAccountService:
    def __init__(
        self,
        invitations: InvitationService,
        discovery: TenantDiscovery,
        directory: TenantDirectory,
        consents: AdminConsentLog,
        queues: QueueSender,
    ) -> None:
        self.invitations = invitations
        self._discovery, self._directory, self._consents, self._queues = discovery, directory, consents, queues

    def find_out(self, current: Versioned) -> tuple[Versioned, WorkAccount | Finding]:
        """Look the invitee's domain up, keep a work account found on the invitation (listed under its
        tenant), and return the invitation as written with the finding."""
        invitation = current.invitation
        tenant_id = self._tenant_of(invitation.invitee.email.rsplit("@", 1)[-1].lower())
        if not isinstance(tenant_id, str):
            return current, tenant_id
        account = WorkAccount(tenant_id=tenant_id, consent=self._consent(tenant_id))
        try:
            if invitation.work_account is None or invitation.work_account.tenant_id != tenant_id:
                self._directory.add(tenant_id, invitation.id)  # listed once: a resend finds it listed
            noted = self.invitations.take_step(current, lambda found, _now: found.note_work_account(account))
        except DomainError as error:
            log.warning("Invitation %s: work account not kept (%s)", invitation.id, error)
            return current, account
        kept = noted.current.invitation.work_account
        return noted.current, kept or account

    def tenant_consented(self, tenant_id: str) -> None:
        """The tenant's administrator consented: record it on each of its pending invitations and queue
        the e-mail telling their invitees (once: only the write that records the consent queues it)."""
        for invitation_id in self._directory.invitations(tenant_id):
            try:
                approved = self.invitations.take_step(
                    self.invitations.load(invitation_id), lambda invitation, now: invitation.approve_work_account(tenant_id, now)
                )
            except NotFound:
                continue
            except DomainError as error:  # one invitation's trouble does not keep the others from their news
                log.warning("Invitation %s not updated for the consent of tenant %s (%s)", invitation_id, tenant_id, error)
                continue
            if approved.changed:
                self.enqueue_notice(approved.current.invitation)

    def enqueue_notice(self, invitation: Invitation) -> None:
        """Queue the approval e-mail the invitation records as not sent yet (also the sweeper's part);
        a queue that cannot be reached is only logged: the invitation stays outstanding, the sweeper retries."""
        send_id = invitation.approval_notice_due()
        if send_id is None:
            return
        intent = EmailIntent(invitation_id=invitation.id, send_id=send_id)
        try:
            self._queues.send(INVITATION_EMAIL, intent.model_dump(mode="json", by_alias=True))
        except DomainError as error:
            log.warning("Approval e-mail of invitation %s not queued (%s)", invitation.id, error)

    def _tenant_of(self, domain: str) -> str | Finding:
        now = self.invitations.clock()
        try:
            known = self._directory.known(domain)
        except DomainError as error:
            log.info("Kept lookup of %s not read (%s)", domain, error)
            known = None
        if known is not None and now - known.checked_at < KNOWN_FOR:
            return known.tenant_id or Finding.NOT_WORK
        try:
            tenant_id = self._discovery.tenant_of(domain)
        except DomainError as error:
            log.info("Tenant of %s not found out (%s)", domain, error)
            return Finding.UNKNOWN
        try:
            self._directory.remember(domain, tenant_id, now)
        except DomainError as error:
            log.info("Lookup of %s not kept (%s)", domain, error)
        return tenant_id or Finding.NOT_WORK

    def _consent(self, tenant_id: str) -> ConsentState:
        try:
            return "granted" if self._consents.granted(tenant_id) else "required"
        except DomainError as error:
            log.info("Consent of tenant %s not read (%s)", tenant_id, error)
            return "unknown"
