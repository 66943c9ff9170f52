"""Admin consent known before sign-in on the real stack: the e-mail worker asks the local B2C's
Entra discovery (tools/idp/discovery.mjs) which tenant the invitee's domain belongs to; the staff
answer shows it, and the tenant's admin-consent grant through the callback e-mails the pending invitee."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support import Api, Outbox, tenant_guid
from tests.test_admin_consent_state import consent_callback, consent_state
from tests.test_invitee_pages import assert_html_page, page_kind
from tools.localstack.stack import LocalStack

APPROVAL_HELP = "/api/AdminConsent?invitationId="


def invite(api: Api, outbox: Outbox, address: str) -> tuple[dict[str, Any], str]:
    invitation = api.invite(invitee={"email": address, "displayName": "Olga Novak"})
    [message] = outbox.wait_for(address)
    body = message.get_body(("plain",))
    assert body is not None
    return api.email_settled(invitation["id"], "sent", "delivered"), str(body.get_content())


def test_a_work_tenants_invitee_is_told_when_their_administrator_consents(stack: LocalStack, api: Api, outbox: Outbox) -> None:
    domain = f"works-{uuid.uuid4().hex[:8]}.example"
    address, tenant = f"olga@{domain}", tenant_guid(domain)
    invitation, text = invite(api, outbox, address)
    assert APPROVAL_HELP in text
    assert invitation["workAccount"]["tenantId"] == tenant and invitation["workAccount"]["consent"] == "required"

    granted = consent_callback(stack, admin_consent="True", tenant=tenant, state=consent_state(stack, str(invitation["id"]), tenant))
    assert_html_page(granted, 200)
    assert page_kind(granted) == "consent-granted"
    approval = outbox.wait_for(address, 2)[-1]
    assert "approved" in str(approval["Subject"])
    assert api.invitation(str(invitation["id"]))["workAccount"]["consent"] == "granted"


def test_a_domain_no_tenant_verified_gets_no_approval_paragraph(api: Api, outbox: Outbox) -> None:
    invitation, text = invite(api, outbox, f"olga.{uuid.uuid4().hex[:8]}@personal.example")
    assert APPROVAL_HELP not in text and invitation.get("workAccount") is None
