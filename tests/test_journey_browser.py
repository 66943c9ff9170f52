"""The invitee's journey in a real browser (headless Chromium driven by Playwright).

Staff invite through the API, the test opens the link from the e-mail in the outbox,
signs in at the local B2C's pages, checks and submits the company page, and checks what
the app stored in Azurite. Screenshots of each step of CASE 1 and CASE 2 (`case1-NN-*.png`,
`case2-NN-*.png`) and of the company page go to test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.local_b2c import STRONG_PASSWORD, verification_code
from tests.storage import Stored
from tests.support import tenant_guid, unique_email
from tools.localstack.guide import label

ORANGE = "rgb(243, 146, 0)"  # --orange: #F39200
GREY = "rgb(185, 190, 198)"  # .button[aria-disabled="true"]: #b9bec6
TIMEOUT_MS = 20_000


# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # A fresh context per test (no cookies carried over); the local IdP's CA is not in Chromium's store.
    context = browser.new_context(ignore_https_errors=True, locale="en-GB", viewport={"width": 1100, "height": 1300})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def link_from_outbox(outbox: Any, address: str) -> str:
    """The invitation link in the (only) e-mail to `address`, from its plain-text part."""
    [message] = outbox.messages_to(address)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
            match = re.search(r"https?://\S+/api/InviteUser\?invitationId=[0-9a-f-]{36}", text)
            assert match, text
            return match.group(0)
    raise AssertionError("no text/plain part in the invitation e-mail")


def invite_and_open(api: Any, outbox: Any, page: Page, **overrides: Any) -> dict[str, Any]:
    """Staff create the invitation; the invitee opens the link from the e-mail at the IdP's login page."""
    invitation = api.invite(**overrides)
    link = link_from_outbox(outbox, invitation["invitee"]["email"])
    assert link == invitation["inviteRedeemUrl"]
    page.goto(link)
    expect(page.locator("#work-account")).to_be_visible()
    expect(page.locator("#email")).to_have_value(invitation["invitee"]["email"])
    return invitation


def sign_in_with_work_account(page: Page, shots: str | None = None, artifacts: Path | None = None) -> None:
    """CASE 1: a work account known to Microsoft signs in directly."""
    if shots and artifacts:
        page.screenshot(path=str(artifacts / f"{shots}-01-signin.png"), full_page=True)
    page.click("#work-account")


def sign_up_with_email_code(page: Page, outbox: Any, email: str, artifacts: Path | None = None) -> str:
    """CASE 2 as the customer guide tells it: "Sign up now", e-mail and password, the code from
    the e-mail, then the terms page (left open); the code. Screenshots of each step if `artifacts`."""

    def shot(name: str) -> None:
        if artifacts:
            page.screenshot(path=str(artifacts / f"case2-{name}.png"), full_page=True)

    shot("01-signin")
    page.click("#createAccount")
    expect(page.locator("#send-code")).to_be_visible()
    expect(page.locator("#email")).to_have_value(email)
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    shot("02-signup")
    page.click("#send-code")
    expect(page.locator("#verify")).to_be_visible()
    expect(page.locator("#code-email")).to_have_text(email)
    code = verification_code(outbox, email)
    page.fill("#code", code)
    shot("03-code")
    page.click("#verify")
    expect(page.locator("#accept")).to_be_visible()
    shot("04-consent")
    return code


def on_company_page(page: Page, stack: Any) -> None:
    page.wait_for_url(f"{stack.base_url}/api/CreateCompany")
    expect(page.locator("h1")).to_have_text("Check your company details")


def background(page: Page, selector: str) -> str:
    return page.eval_on_selector(selector, "element => getComputedStyle(element).backgroundColor")


def assert_completed(stored: Stored, invitation: dict[str, Any], account_type: str) -> dict[str, Any]:
    entity = stored.invitation(invitation["id"])
    assert entity["Status"] == "completed"
    company = stored.company_of(invitation["id"])
    assert entity["data"]["company_id"] == company["PartitionKey"]
    user = entity["data"]["accepted_by"]
    assert user["email"] == invitation["invitee"]["email"] and user["account_type"] == account_type
    [member] = stored.members(company["PartitionKey"])
    assert member["RowKey"] == f"member-{user['object_id']}" and member["Role"] == "admin"
    assert stored.user(user["object_id"])["AccountType"] == account_type
    return company


# -- the journeys ----------------------------------------------------------------------------------


def test_full_journey_with_a_work_account(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored, artifacts: Path) -> None:
    invitation = invite_and_open(api, outbox, page)
    sign_in_with_work_account(page, "case1", artifacts)
    on_company_page(page, stack)
    page.screenshot(path=str(artifacts / "case1-02-company.png"), full_page=True)

    # Prefilled with what sales recorded, and ready to go: the button is enabled and orange.
    company = invitation["company"]
    expect(page.locator("#name")).to_have_value(company["name"])
    expect(page.locator("#city")).to_have_value(company["city"])
    expect(page.locator("#country")).to_have_value("CH")
    expect(page.locator("#phone")).to_have_value(company["phone"])
    expect(page.locator("#email")).to_have_value(invitation["invitee"]["email"])
    expect(page.locator("#account-type")).to_have_text("Signed in with your work account (Microsoft Entra ID)")
    button = page.locator("#create-company")
    expect(button).to_be_enabled()
    assert background(page, "#create-company") == ORANGE
    page.screenshot(path=str(artifacts / "company-page-valid.png"), full_page=True)

    # A required field emptied: the button greys out and the field says what is wrong.
    page.fill("#city", "")
    expect(button).to_be_disabled()
    assert background(page, "#create-company") == GREY
    expect(page.locator("#city-error")).to_be_visible()
    expect(page.locator("#city-error")).to_have_text("Enter the city (up to 200 characters).")
    page.screenshot(path=str(artifacts / "company-page-invalid.png"), full_page=True)

    # A phone number with too few digits is caught by the page's own check.
    page.fill("#city", "Frauenfeld TG")
    page.fill("#phone", "+41 52")
    expect(button).to_be_disabled()
    expect(page.locator("#phone-error")).to_contain_text("at least 6 digits")

    page.fill("#phone", "+41 52 999 88 77")
    expect(button).to_be_enabled()
    expect(page.locator("#city-error")).to_have_text("")
    assert background(page, "#create-company") == ORANGE
    button.click()

    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_have_text("Welcome to My rConnect")
    expect(page.locator("main")).to_contain_text("Your company Contoso Precision AG is ready")

    company_row = assert_completed(stored, invitation, "work")
    data = company_row["data"]["data"]
    assert data["city"] == "Frauenfeld TG" and data["phone"] == "+41 52 999 88 77"
    assert data["name"] == company["name"] and data["country"] == "CH"
    user = stored.user(stored.invitation(invitation["id"])["data"]["accepted_by"]["object_id"])
    assert user["HomeTenantId"] == tenant_guid("contoso.example")
    view = api.get(f"/invitations/{invitation['id']}").json()
    assert view["status"] == "completed" and view["companyId"] == company_row["PartitionKey"]


def test_case2_new_local_account_as_the_guide_tells_it(
    stack: Any, api: Any, outbox: Any, page: Page, stored: Stored, artifacts: Path
) -> None:
    """The customer guide's CASE 2, steps 1–5: sign-in page, "Sign up now" with e-mail and a new
    password, the code from the e-mail, the terms with their links and Yes, the company page."""
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    sign_up_with_email_code(page, outbox, email, artifacts)
    expect(page.locator("#consent-app")).to_have_text("My rConnect")
    expect(page.locator("#terms-link")).to_be_visible()
    expect(page.locator("#privacy-link")).to_be_visible()
    page.click("#accept")
    on_company_page(page, stack)
    expect(page.locator("#account-type")).to_have_text("Signed in with your e-mail address")
    expect(page.locator("#email")).to_have_value(email)
    page.screenshot(path=str(artifacts / "case2-05-company.png"), full_page=True)
    expect(page.locator("#create-company")).to_be_enabled()
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_be_visible()
    page.screenshot(path=str(artifacts / "case2-06-welcome.png"), full_page=True)
    assert_completed(stored, invitation, "local")


def test_wrong_code_at_the_idp_is_refused_there(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    page.click("#createAccount")
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.click("#send-code")
    code = verification_code(outbox, email)
    page.fill("#code", f"{(int(code) + 1) % 1_000_000:06d}")
    page.click("#verify")
    expect(page.locator("#error")).to_contain_text("does not match our records")
    assert stored.invitation(invitation["id"])["Status"] == "pending"
    page.fill("#code", code)
    page.click("#verify")
    page.click("#accept")
    on_company_page(page, stack)


def test_back_button_and_second_submit_create_no_second_company(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    invitation = invite_and_open(api, outbox, page)
    sign_in_with_work_account(page)
    on_company_page(page, stack)
    # A second tab with the same form, as a stale copy to submit later.
    stale = page.context.new_page()
    stale.goto(f"{stack.base_url}/api/CreateCompany")
    expect(stale.locator("#create-company")).to_be_enabled()
    form = {
        name: page.eval_on_selector(f"[name={name}]", "element => element.value")
        for name in ("csrf_token", "name", "street", "postal_code", "city", "country", "vat_number", "phone", "website", "contact_name")
    }

    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    company = stored.company_of(invitation["id"])

    # Back: the company page is not shown again, the browser lands on the welcome page.
    page.go_back()
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_be_visible()

    # The stale tab submits the form again, with a changed name.
    stale.fill("#name", "Second Company AG")
    stale.click("#create-company")
    stale.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(stale.locator("main")).to_contain_text("Your company Contoso Precision AG is ready")

    # And a plain re-post of the same form: 303 to the welcome page, nothing new.
    again = page.request.post(f"{stack.base_url}/api/CreateCompany", form=form, max_redirects=0)
    assert again.status == 303 and again.headers["location"] == f"{stack.base_url}/api/Welcome"
    direct = page.request.get(f"{stack.base_url}/api/CreateCompany", max_redirects=0)
    assert direct.status == 303 and direct.headers["location"] == f"{stack.base_url}/api/Welcome"

    assert [row["PartitionKey"] for row in stored.company_rows(invitation["id"])] == [company["PartitionKey"]]
    assert stored.company_rows(invitation["id"])[0]["data"]["data"]["name"] == "Contoso Precision AG"
    assert len(stored.members(company["PartitionKey"])) == 1
    history = api.get(f"/invitations/{invitation['id']}").json()["history"]
    assert [event["action"] for event in history].count("completed") == 1


def test_with_a_redirect_url_the_welcome_page_leads_on_to_it(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    portal = "https://portal.rconnect.example/start"
    page.context.route(
        "https://portal.rconnect.example/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1 id='portal'>Portal</h1>"),
    )
    invitation = invite_and_open(api, outbox, page, redirectUrl=portal)
    sign_in_with_work_account(page)
    on_company_page(page, stack)
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")  # never skipped: what is next, then the redirect
    page.click("#go-to-portal")
    page.wait_for_url(portal)
    expect(page.locator("#portal")).to_have_text("Portal")
    assert_completed(stored, invitation, "work")


def test_work_account_that_needs_admin_consent(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    domain = "needs-consent.example"
    tenant = tenant_guid(domain)
    assert stored.consents(tenant) == [], "the IdP's consent is per run: this test must come first for this tenant"
    email = unique_email("olga", domain)
    invitation = invite_and_open(api, outbox, page, invitee={"email": email, "displayName": "Olga Novak"})
    sign_in_with_work_account(page)

    # Our page explains that the IT administrator must approve, and links the instructions.
    page.wait_for_url(re.compile(re.escape(f"{stack.base_url}/api/InviteUser/callback") + r"\?.*"))
    expect(page.locator("#message-title")).to_have_text("Your IT administrator needs to approve My rConnect")
    help_link = page.locator("#message-action")
    expect(help_link).to_have_attribute("href", f"{stack.base_url}/api/AdminConsent?invitationId={invitation['id']}")
    expect(help_link).to_have_text(label("en", "consent-required.action"), use_inner_text=True)  # as the guide quotes it
    assert stored.invitation(invitation["id"])["Status"] == "pending"
    help_link.click()

    # The instructions page shows the admin-consent link for the invitee's tenant.
    expect(page.locator("h1")).to_have_text("Approve My rConnect for your organisation")
    expect(page.locator("#tenant")).to_have_value(domain)
    consent_link = page.locator("#consent-url")
    href = consent_link.get_attribute("href") or ""
    assert href.startswith(f"{stack.idp_url}/{domain}/adminconsent?")
    consent_link.click()

    # The administrator accepts at the identity provider.
    expect(page.locator("h1")).to_have_text("Permissions requested")
    page.fill("#admin-email", f"it-admin@{domain}")
    page.click("#accept")

    page.wait_for_url(re.compile(re.escape(f"{stack.base_url}/api/AdminConsent/callback") + r"\?.*"))
    expect(page.locator("#message-title")).to_have_text("Thank you — My rConnect is approved")
    expect(page.locator("#message-text")).to_contain_text(tenant)
    [consent] = stored.consents(tenant)
    assert consent["Granted"] is True and consent["InvitationId"] == invitation["id"] and consent["Error"] == ""

    # Now the invitee's work-account sign-in goes through.
    page.click("#message-action")
    expect(page.locator("#work-account")).to_be_visible()
    sign_in_with_work_account(page)
    on_company_page(page, stack)
    expect(page.locator("#email")).to_have_value(email)
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    assert_completed(stored, invitation, "work")


def test_french_invitee_sees_french_pages(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    invitation = invite_and_open(api, outbox, page, language="fr")
    # The browser asks for English (en-GB); B2C's pages follow the invitation through `ui_locales`.
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("h1")).to_have_text("Se connecter")
    sign_in_with_work_account(page)
    page.wait_for_url(f"{stack.base_url}/api/CreateCompany")
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.locator("h1")).not_to_have_text("Check your company details")
    page.fill("#city", "")
    expect(page.locator("#city-error")).not_to_have_text("")
    expect(page.locator("#city-error")).not_to_have_text("Enter the city (up to 200 characters).")
    page.fill("#city", "Genève")
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert stored.company_of(invitation["id"])["data"]["data"]["city"] == "Genève"
