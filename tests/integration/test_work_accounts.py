"""Admin consent known before sign-in, end to end in-process on Azurite: the e-mail worker asks a
loopback Entra which tenant the invitee's domain belongs to, keeps it on the invitation (the staff
answer's `workAccount`) and in the tenant index, leaves out the approval paragraph for a consented
tenant, and a consent callback's grant updates the pending invitation and e-mails its invitee once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from shared.domain.models import EmailIntent, InvitationRequest
from shared.settings import Settings
from shared.wiring import Services
from tests.fakes.entra_discovery import EntraDiscoveryServer
from tests.integration.conftest import ServicesFactory
from tests.support import Outbox, invitation_body, unique_email

APPROVAL_HELP = "/api/AdminConsent?invitationId="


@pytest.fixture
def tenants() -> dict[str, str]:
    """Fresh domains per test (their lookups are kept a day in the shared Azurite)."""
    return {f"{uuid.uuid4().hex[:10]}.example": str(uuid.uuid4()) for _ in range(2)}


@pytest.fixture
def app(settings: Settings, services_for: ServicesFactory, tenants: dict[str, str]) -> Iterator[Services]:
    with EntraDiscoveryServer(tenants) as entra:
        yield services_for(settings.model_copy(update={"entra_login_host": entra.url}))


def invite_and_send(app: Services, outbox: Path, address: str) -> tuple[str, EmailMessage]:
    body = invitation_body()
    body["invitee"] = {"email": address, "displayName": "Anna Keller"}
    view, _ = app.invitations.create(InvitationRequest.model_validate(body), actor="staff", idempotency_key=None)
    app.invitations.finish_handovers()
    assert view.email is not None
    app.emails.send(EmailIntent(invitation_id=view.id, send_id=view.email.send_id))
    [message] = Outbox(outbox).messages_to(address)
    return view.id, message


def text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_a_consent_shows_before_sign_in_and_reaches_the_pending_invitee(app: Services, outbox: Path, tenants: dict[str, str]) -> None:
    (domain, tenant), (consented_domain, consented_tenant) = tenants.items()
    app.admin_consent.record(consented_tenant, True, None, None)
    _, welcome = invite_and_send(app, outbox, unique_email(domain=consented_domain))
    assert APPROVAL_HELP not in text(welcome)

    address = unique_email(domain=domain)
    invitation_id, invitation = invite_and_send(app, outbox, address)
    assert APPROVAL_HELP in text(invitation)
    shown = app.invitations.read(invitation_id).model_dump(by_alias=True, mode="json")
    assert {key: value for key, value in shown["workAccount"].items() if value is not None} == {"tenantId": tenant, "consent": "required"}

    app.admin_consent.record(tenant, True, None, invitation_id)  # the administrator's grant, as the callback records it
    account = app.invitations.get(invitation_id).work_account
    assert account is not None and account.consent == "granted" and account.approval_notice_send_id is not None
    notice = EmailIntent(invitation_id=invitation_id, send_id=account.approval_notice_send_id)
    app.emails.send(notice)
    app.emails.send(notice)  # redelivered
    messages = Outbox(outbox).messages_to(address)
    assert len(messages) == 2 and "approved" in str(messages[-1]["Subject"])
    assert app.invitations.get(invitation_id).work_account.approval_notice_sent_at is not None  # type: ignore[union-attr]


def test_a_lookup_nobody_answers_changes_nothing(settings: Settings, services_for: ServicesFactory, outbox: Path) -> None:
    with EntraDiscoveryServer({}) as gone:
        url = gone.url
    app = services_for(settings.model_copy(update={"entra_login_host": url}))
    invitation_id, invitation = invite_and_send(app, outbox, unique_email())
    assert APPROVAL_HELP in text(invitation)
    assert app.invitations.get(invitation_id).work_account is None
