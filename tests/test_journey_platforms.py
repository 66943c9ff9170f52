"""The guide's journeys on each identity platform the app can be set up for: B2C with custom policies
(the session's stack) and Microsoft Entra External ID (a second stack whose stand-in speaks External ID's
issuer, metadata path, claims and codes). CASE 1 with and without the administrator's approval, CASE 2
new and returning; each counts the invitee's screens from the e-mail's link to the welcome page
(a screen: a page the browser shows, redirects not counted) and writes them to
test-artifacts/screens-per-platform.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.local_b2c import STRONG_PASSWORD, verification_code
from tests.storage import Stored
from tests.support import Api, Outbox, tenant_guid, unique_email
from tools.localstack.stack import LocalStack

TIMEOUT_MS = 20_000
SCREENS: dict[str, dict[str, int]] = {}


@dataclass(frozen=True)
class Platform:
    name: str
    stack: LocalStack
    api: Api
    outbox: Outbox
    stored: Stored


@pytest.fixture(scope="module", params=["b2c-custom-policy", "external-id"])
def platform(request: pytest.FixtureRequest) -> Platform:
    stack: LocalStack = request.getfixturevalue("stack" if request.param == "b2c-custom-policy" else "external_id_stack")
    assert stack.config.identity_platform == request.param
    return Platform(request.param, stack, Api(stack), Outbox(stack.outbox), Stored.of(stack))


@pytest.fixture(scope="module", autouse=True)
def screen_counts(artifacts: Path) -> Iterator[None]:
    yield
    (artifacts / "screens-per-platform.json").write_text(json.dumps(SCREENS, indent=2, sort_keys=True) + "\n")


class Screens:
    """The pages the invitee sees: every document the main frame shows (a redirect is not one)."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("framenavigated", lambda frame: self.urls.append(frame.url) if frame == page.main_frame else None)

    def record(self, platform: Platform, case: str, expected: int) -> None:
        SCREENS.setdefault(case, {})[platform.name] = len(self.urls)
        assert len(self.urls) == expected, self.urls


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def open_invitation(platform: Platform, page: Page, email: str) -> dict[str, Any]:
    invitation = platform.api.invite(invitee={"email": email, "displayName": "Anna Keller"})
    platform.outbox.wait_for(email)  # the invitee opens the link once the e-mail arrived
    page.goto(invitation["inviteRedeemUrl"])
    expect(page.locator("#email")).to_have_value(email)
    return invitation


def create_company(platform: Platform, page: Page, invitation: dict[str, Any], account_type: str) -> dict[str, Any]:
    page.wait_for_url(f"{platform.stack.base_url}/api/CreateCompany")
    expect(page.locator("#email")).to_have_value(invitation["invitee"]["email"])
    page.click("#create-company")
    page.wait_for_url(f"{platform.stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_be_visible()
    entity = platform.stored.invitation(invitation["id"])
    assert entity["Status"] == "completed"
    user: dict[str, Any] = entity["data"]["accepted_by"]
    assert user["email"] == invitation["invitee"]["email"] and user["account_type"] == account_type
    return user


def test_case1_work_account(platform: Platform, page: Page) -> None:
    screens = Screens(page)
    invitation = open_invitation(platform, page, unique_email("ben", "contoso.example"))
    page.click("#work-account")
    user = create_company(platform, page, invitation, "work")
    assert user["home_tenant_id"] == tenant_guid("contoso.example")
    screens.record(platform, "case1-work-account", 3)  # sign-in, company, welcome
    # B2C federates the work account in its policy; on External ID the app sends it to Entra ID itself.
    where = "/organizations/oauth2/v2.0/authorize?" if platform.name == "external-id" else "/B2C_1A_SIGNUP_SIGNIN/v2.0/interaction/"
    assert where in screens.urls[0]


def test_case1_work_account_whose_administrator_must_approve(platform: Platform, page: Page) -> None:
    domain = "approval-pending.example"
    tenant = tenant_guid(domain)
    assert platform.stored.consents(tenant) == [], "the IdP's approval lasts as long as its process: one test per domain"
    screens = Screens(page)
    invitation = open_invitation(platform, page, unique_email("olga", domain))
    page.click("#work-account")

    page.wait_for_url(re.compile(re.escape(f"{platform.stack.base_url}/api/InviteUser/callback") + r"\?.*"))
    expect(page.locator("#message-title")).to_have_text("Your IT administrator needs to approve My rConnect")
    page.click("#message-action")
    expect(page.locator("#tenant")).to_have_value(domain)
    page.click("#consent-url")
    expect(page.locator("h1")).to_have_text("Permissions requested")
    page.fill("#admin-email", f"it-admin@{domain}")
    page.click("#accept")
    page.wait_for_url(re.compile(re.escape(f"{platform.stack.base_url}/api/AdminConsent/callback") + r"\?.*"))
    expect(page.locator("#message-title")).to_have_text("Thank you — My rConnect is approved")
    [consent] = platform.stored.consents(tenant)
    assert consent["Granted"] is True

    page.click("#message-action")
    page.click("#work-account")
    create_company(platform, page, invitation, "work")
    # sign-in, approval needed, instructions, the IdP's permissions, thank you, sign-in, company, welcome
    screens.record(platform, "case1-administrator-approves", 8)


def test_case2_new_then_returning_local_account(platform: Platform, browser: Browser, page: Page) -> None:
    email = unique_email("anna", "gmail.example")
    screens = Screens(page)
    invitation = open_invitation(platform, page, email)
    page.click("#createAccount")
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.click("#send-code")
    page.fill("#code", verification_code(platform.outbox, email))
    page.click("#verify")
    page.click("#accept")
    page.wait_for_url(f"{platform.stack.base_url}/api/CreateCompany")
    expect(page.locator("#account-type")).to_have_text("Signed in with your e-mail address")
    screens.record(platform, "case2-new-to-company-page", 5)  # sign-in, sign-up, code, terms, company
    assert "/organizations/" not in screens.urls[0]  # an address Entra ID does not know: the platform's own pages

    # Returning another day in another browser: the link again, the password, the company page.
    returning = browser.new_context(ignore_https_errors=True, locale="en-GB")
    returning.set_default_timeout(TIMEOUT_MS)
    again = returning.new_page()
    screens = Screens(again)
    again.goto(invitation["inviteRedeemUrl"])
    again.fill("#password", STRONG_PASSWORD)
    again.click("#next")
    create_company(platform, again, invitation, "local")
    screens.record(platform, "case2-returning", 3)  # sign-in, company, welcome
    returning.close()


def test_the_stand_in_speaks_the_platforms_shape(platform: Platform) -> None:
    """External ID: `https://{subdomain}.ciamlogin.com/{tenant id}/v2.0`; B2C: the tenant and policy in the path."""
    health = platform.api.get("/health").json()["checks"]["identity"]
    assert health["status"] == "ok" and health["detail"].startswith(f"{platform.name} at {platform.stack.idp_url}/")
    issuer = requests.get(f"{platform.stack.idp_url}/health", timeout=10, verify=str(platform.stack.ca_bundle)).json()["issuer"]
    assert health["detail"] == f"{platform.name} at {issuer.removesuffix('/v2.0')}: OpenID configuration answers"
    shape = r"/[0-9a-f-]{36}/v2\.0" if platform.name == "external-id" else r"/rconnectdev\.onmicrosoft\.com/B2C_1A_SIGNUP_SIGNIN/v2\.0"
    assert re.fullmatch(re.escape(platform.stack.idp_url) + shape, issuer)
