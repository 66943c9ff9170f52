"""Entra's admin-consent redirect as a red team tries it (issue 9), against the real stack.

A decline carries no `tenant` (Entra's documented error redirect); the `state` the help page puts
into the consent link is sealed with the tenant it was issued for, and a grant reported for
another tenant is refused and recorded nowhere.
"""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qs, urlparse

import requests

from tests.storage import Stored
from tests.support import Api, tenant_guid
from tests.test_invitee_pages import TIMEOUT, assert_html_page, page_kind
from tools.localstack.stack import LocalStack


def consent_state(stack: LocalStack, invitation_id: str, tenant: str) -> str:
    """The state the help page puts into the tenant's admin-consent link."""
    page = requests.get(
        f"{stack.base_url}/api/AdminConsent",
        params={"invitationId": invitation_id, "tenant": tenant},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert_html_page(page, 200)
    link = re.search(r'id="consent-url" href="([^"]+)"', page.text)
    assert link, page.text[:2000]
    return parse_qs(urlparse(html.unescape(link.group(1))).query)["state"][0]


def consent_callback(stack: LocalStack, **params: str) -> requests.Response:
    return requests.get(f"{stack.base_url}/api/AdminConsent/callback", params=params, allow_redirects=False, timeout=TIMEOUT)


def test_entras_tenant_less_decline_is_recorded_for_the_sealed_tenant(stack: LocalStack, api: Api, stored: Stored) -> None:
    invitation = api.invite()
    tenant = tenant_guid(f"declines-{uuid.uuid4().hex[:6]}.example")
    state = consent_state(stack, invitation["id"], tenant)
    # Entra's documented error redirect: error and error_description, no tenant.
    response = consent_callback(
        stack, error="access_denied", error_description="AADSTS65004: User declined to consent to access the app.", state=state
    )
    assert_html_page(response, 200)
    assert page_kind(response) == "consent-declined"
    assert "AADSTS65004" in response.text
    [row] = stored.consents(tenant)
    assert row["Granted"] is False and "access_denied" in row["Error"] and row["InvitationId"] == invitation["id"]


def test_a_grant_for_another_tenant_than_the_sealed_one_is_refused(stack: LocalStack, api: Api, stored: Stored) -> None:
    invitation = api.invite()
    issued_for, other = tenant_guid(f"issued-{uuid.uuid4().hex[:6]}.example"), str(uuid.uuid4())
    state = consent_state(stack, invitation["id"], issued_for)
    refused = consent_callback(stack, admin_consent="True", tenant=other, state=state)
    assert_html_page(refused, 400)
    assert stored.consents(other) == [] and stored.consents(issued_for) == []
    # The same state with its own tenant is recorded.
    granted = consent_callback(stack, admin_consent="True", tenant=issued_for, state=state)
    assert_html_page(granted, 200)
    assert page_kind(granted) == "consent-granted"
    [row] = stored.consents(issued_for)
    assert row["Granted"] is True and row["InvitationId"] == invitation["id"]


def test_a_state_of_the_old_unsealed_shape_or_forged_is_refused(stack: LocalStack, stored: Stored) -> None:
    tenant = str(uuid.uuid4())
    for state in ("", "forged", "eyJpbnZpdGF0aW9uX2lkIjpudWxsfQ.ZZZZ.signature"):
        response = consent_callback(stack, admin_consent="True", tenant=tenant, state=state)
        assert_html_page(response, 400)
    assert stored.consents(tenant) == []
