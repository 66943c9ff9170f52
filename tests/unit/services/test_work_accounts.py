"""Admin consent known before sign-in, over the fakes: the e-mail worker looks the invitee's domain up
(kept a day), keeps the work account on the invitation and shows the admin-approval paragraph only
where it may be needed; a tenant's consent updates its pending invitations and tells their invitees once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from shared.domain.errors import Unavailable
from shared.domain.models import EmailIntent, Invitation, InvitationView, WorkAccount
from shared.queue_names import INVITATION_EMAIL
from shared.services.admin_consent import AdminConsentService
from shared.services.invitation_email import EmailNotSent, InvitationEmailService
from shared.services.invitations import InvitationService
from shared.services.work_accounts import WorkAccountService
from tests.fakes.mail import MemoryEmailSender
from tests.fakes.stores import MemoryAdminConsents
from tests.fakes.tenants import FakeTenantDiscovery, MemoryTenantDirectory
from tests.support import unique_email
from tests.unit.services.conftest import CONTOSO_TENANT, Fakes, account, create

APPROVAL_HELP = "/api/AdminConsent?invitationId="
OTHER_TENANT = "0b2e7a52-0c1d-4a3e-9f8b-7c6d5e4f3a21"


SendInvitation = Callable[[InvitationView], str]


@pytest.fixture
def send_invitation(emails: InvitationEmailService, mail: MemoryEmailSender, fakes: Fakes) -> SendInvitation:
    def send(invited: InvitationView) -> str:
        """Carry out the create's queued send; the text of the e-mail it sent."""
        [intent] = [EmailIntent.model_validate(m) for m in fakes.queues.messages(INVITATION_EMAIL) if m["invitationId"] == invited.id]
        emails.send(intent)
        return mail.sent[-1].message.text

    return send


def consents(fakes: Fakes, work_accounts: WorkAccountService, consent_log: MemoryAdminConsents) -> AdminConsentService:
    return AdminConsentService(
        consent_log, fakes.clock, work_accounts, login_host="https://login.example", client_id="app", callback_url="x"
    )


def test_a_domain_of_a_tenant_without_consent_gets_the_approval_paragraph_and_the_work_account(
    send_invitation: SendInvitation, emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes
) -> None:
    invited = create(invitation_service)
    assert APPROVAL_HELP in send_invitation(invited)
    assert invitation_service.get(invited.id).work_account == WorkAccount(tenant_id=CONTOSO_TENANT, consent="required")
    assert invitation_service.read(invited.id).model_dump(by_alias=True, mode="json")["workAccount"]["consent"] == "required"


def test_a_domain_of_a_consented_tenant_gets_no_approval_paragraph(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    fakes: Fakes,
    consent_log: MemoryAdminConsents,
) -> None:
    consent_log.record(CONTOSO_TENANT, True, None, None, fakes.clock())
    invited = create(invitation_service)
    text = send_invitation(invited)
    assert APPROVAL_HELP not in text and invited.invite_redeem_url in text
    account = invitation_service.get(invited.id).work_account
    assert account is not None and account.consent == "granted"


def test_a_domain_of_no_work_tenant_gets_no_approval_paragraph_and_no_work_account(
    send_invitation: SendInvitation, emails: InvitationEmailService, invitation_service: InvitationService, fakes: Fakes
) -> None:
    invited = create(invitation_service, invitee={"email": unique_email(domain="gmail.com"), "displayName": "Anna"})
    assert APPROVAL_HELP not in send_invitation(invited)
    assert invitation_service.get(invited.id).work_account is None


def test_a_lookup_that_times_out_changes_nothing(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    fakes: Fakes,
    discovery: FakeTenantDiscovery,
) -> None:
    discovery.down = True
    invited = create(invitation_service)
    text = send_invitation(invited)
    assert APPROVAL_HELP in text, "the paragraph stays, as for any invitee"
    sent = invitation_service.get(invited.id)
    assert sent.work_account is None
    assert sent.email is not None and sent.email.status == "sent"


def test_a_consent_log_that_cannot_be_read_leaves_consent_unknown(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    fakes: Fakes,
    consent_log: MemoryAdminConsents,
) -> None:
    def unreadable(tenant_id: str) -> bool:
        raise Unavailable("Storage cannot be reached (AdminConsents).", code="storage-unavailable")

    consent_log.granted = unreadable  # type: ignore[method-assign]
    invited = create(invitation_service)
    assert APPROVAL_HELP in send_invitation(invited)
    assert invitation_service.get(invited.id).work_account == WorkAccount(tenant_id=CONTOSO_TENANT, consent="unknown")


def test_a_domain_is_looked_up_once_a_day(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    fakes: Fakes,
    discovery: FakeTenantDiscovery,
) -> None:
    send_invitation(create(invitation_service))
    send_invitation(create(invitation_service))
    assert discovery.lookups == ["contoso.example"]
    fakes.clock.advance(days=1)
    send_invitation(create(invitation_service))
    assert discovery.lookups == ["contoso.example"] * 2


def test_a_consent_updates_the_tenants_pending_invitations_and_tells_their_invitees_once(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    work_accounts: WorkAccountService,
    consent_log: MemoryAdminConsents,
    tenant_directory: MemoryTenantDirectory,
    mail: MemoryEmailSender,
    fakes: Fakes,
) -> None:
    pending, revoked = create(invitation_service, language="de"), create(invitation_service)
    for invited in (pending, revoked):
        send_invitation(invited)
    invitation_service.revoke(revoked.id, "staff")
    tenant_directory.add(OTHER_TENANT, "another-tenants-invitation")
    before = len(fakes.queues.messages(INVITATION_EMAIL))

    service = consents(fakes, work_accounts, consent_log)
    service.record(CONTOSO_TENANT, True, None, None)
    service.record(CONTOSO_TENANT, True, None, None)  # a second administrator consents too: nobody is told twice

    updated = invitation_service.get(pending.id).work_account
    assert updated is not None and updated.consent == "granted" and updated.approval_notice_send_id is not None
    assert invitation_service.get(revoked.id).work_account.consent == "required"  # type: ignore[union-attr]
    notices = [EmailIntent.model_validate(m) for m in fakes.queues.messages(INVITATION_EMAIL)[before:]]
    assert notices == [EmailIntent(invitation_id=pending.id, send_id=updated.approval_notice_send_id)]
    emails.send(notices[0])
    emails.send(notices[0])  # the queue delivered it again
    approval = mail.sent[-1]
    assert mail.attempts == 3 and approval.operation_id == updated.approval_notice_send_id
    assert approval.message.subject == "Ihre Administration hat My rConnect freigegeben"
    assert pending.invite_redeem_url in approval.message.text
    history = [event.action for event in invitation_service.read(pending.id).history]
    assert history[-2:] == ["work-account-approved", "approval-notice-sent"]
    assert invitation_service.get(pending.id).email.status == "sent"  # type: ignore[union-attr]  # the invitation's own send untouched


def test_a_declined_consent_changes_no_invitation(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    work_accounts: WorkAccountService,
    consent_log: MemoryAdminConsents,
    fakes: Fakes,
) -> None:
    invited = create(invitation_service)
    send_invitation(invited)
    consents(fakes, work_accounts, consent_log).record(CONTOSO_TENANT, False, "access_denied", invited.id)
    assert invitation_service.get(invited.id).work_account.consent == "required"  # type: ignore[union-attr]


def test_an_approval_email_acs_refuses_for_now_is_retried(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    work_accounts: WorkAccountService,
    consent_log: MemoryAdminConsents,
    mail: MemoryEmailSender,
    fakes: Fakes,
) -> None:
    invited = create(invitation_service)
    send_invitation(invited)
    consents(fakes, work_accounts, consent_log).record(CONTOSO_TENANT, True, None, None)
    notice = EmailIntent.model_validate(fakes.queues.messages(INVITATION_EMAIL)[-1])
    mail.fail_next(retryable=True)
    with pytest.raises(EmailNotSent):
        emails.send(notice)
    assert invitation_service.get(invited.id).work_account.approval_notice_sent_at is None  # type: ignore[union-attr]
    fakes.clock.advance(seconds=timedelta(minutes=1).total_seconds())
    emails.send(notice)
    assert invitation_service.get(invited.id).work_account.approval_notice_sent_at is not None  # type: ignore[union-attr]


def test_an_invitee_who_signed_in_before_the_approval_email_went_is_not_told(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    work_accounts: WorkAccountService,
    consent_log: MemoryAdminConsents,
    mail: MemoryEmailSender,
    fakes: Fakes,
) -> None:
    invited = create(invitation_service)
    send_invitation(invited)
    consents(fakes, work_accounts, consent_log).record(CONTOSO_TENANT, True, None, None)
    notice = EmailIntent.model_validate(fakes.queues.messages(INVITATION_EMAIL)[-1])
    invitation_service.accept(invitation_service.load(invited.id), account(invited.invitee.email))
    emails.send(notice)
    assert mail.attempts == 1, "only the invitation"


def without_events(invitation: Invitation) -> Invitation:
    """The invitation without its lifecycle events still to publish (outstanding on their own)."""
    return invitation.model_copy(update={"pending_events": []})


def test_an_approval_email_the_queue_lost_is_outstanding_until_it_went(
    send_invitation: SendInvitation,
    invitation_service: InvitationService,
    work_accounts: WorkAccountService,
    consent_log: MemoryAdminConsents,
    fakes: Fakes,
) -> None:
    invited = create(invitation_service)
    send_invitation(invited)
    consents(fakes, work_accounts, consent_log).record(CONTOSO_TENANT, True, None, None)
    approved = invitation_service.get(invited.id)
    assert without_events(approved).outstanding_since() == fakes.clock(), "the sweeper queues it again if its message was lost"
    work_accounts.enqueue_notice(approved)  # the sweeper's part
    notices = [m for m in fakes.queues.messages(INVITATION_EMAIL) if m["sendId"] == approved.approval_notice_due()]
    assert len(notices) == 2


def test_an_approval_email_for_an_invitee_who_signed_in_meanwhile_is_dropped(
    send_invitation: SendInvitation,
    emails: InvitationEmailService,
    invitation_service: InvitationService,
    work_accounts: WorkAccountService,
    consent_log: MemoryAdminConsents,
    fakes: Fakes,
) -> None:
    invited = create(invitation_service)
    send_invitation(invited)
    consents(fakes, work_accounts, consent_log).record(CONTOSO_TENANT, True, None, None)
    notice = EmailIntent.model_validate(fakes.queues.messages(INVITATION_EMAIL)[-1])
    fakes.clock.advance(days=8)  # expired before the worker took it
    emails.send(notice)
    dropped = invitation_service.get(invited.id)
    assert dropped.approval_notice_due() is None and without_events(dropped).outstanding_since() is None
