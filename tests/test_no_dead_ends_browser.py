"""No dead ends (issue 18), in headless Chromium: two tabs finishing in either order, Back, reload and a
new tab with edits, a revoke while editing, a sign-in answer after its flow expired, a slow sign-up with
a re-sent code, the administrator's decline, the link after completion. Each ends on the welcome page, or
on a page whose one primary button leads on, with nothing typed lost; axe finds nothing serious on the
pages only these journeys reach."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import azure.functions as func
import pytest
from playwright.sync_api import Browser, Page, expect

from shared.domain.invitations import SIGN_IN_MAX_AGE_SECONDS
from shared.settings import get_settings
from tests.local_b2c import STRONG_PASSWORD, verification_code, verification_emails
from tests.storage import Stored
from tests.support import tenant_guid, unique_email
from tests.test_accessibility import assert_accessible, new_page
from tests.test_journey_browser import invite_and_open, link_from_outbox, on_company_page, sign_in_with_work_account
from web.cookies import COOKIE_NAME, pending_sign_in, sign_in_cookie

EDITED = {"#name": "Contoso Precision Edited AG", "#city": "Winterthur", "#phone": "+41 52 555 66 77"}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)  # bypass_csp, for axe
    yield page
    page.context.close()


def signed_in(page: Page, stack: Any) -> int:
    """Sign in at the local B2C with the work account until the company page shows; the B2C screens seen."""
    screens = 0
    while not page.url.startswith(f"{stack.base_url}/api/CreateCompany"):
        expect(page.locator("#work-account")).to_be_visible()
        screens += 1
        page.click("#work-account")
        page.wait_for_load_state()
    on_company_page(page, stack)
    return screens


def edit(page: Page) -> None:
    for selector, value in EDITED.items():
        page.fill(selector, value)


def shows_the_edits(page: Page) -> None:
    for selector, value in EDITED.items():
        expect(page.locator(selector)).to_have_value(value)


def create_company(page: Page, stack: Any) -> None:
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_be_visible()


def age_the_sign_in(page: Page, stack: Any, monkeypatch: pytest.MonkeyPatch, seconds: int) -> None:
    """Re-seal the browser's sign-in cookie as if issued `seconds` ago: time passes without sleeping."""
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
    with monkeypatch.context() as patched:
        patched.setenv("SESSION_SECRET", stack.session_secret)
        get_settings.cache_clear()
        request = func.HttpRequest("GET", stack.base_url, headers={"Cookie": f"{COOKIE_NAME}={cookie['value']}"}, body=b"")
        pending = pending_sign_in(request)
        assert pending is not None
        now = time.time()
        patched.setattr(time, "time", lambda: now - seconds)
        aged = sign_in_cookie(pending.progress.invitation_id, pending.progress.flow)
    get_settings.cache_clear()
    page.context.add_cookies([{**cookie, "value": aged.split(";")[0].split("=", 1)[1]}])


@pytest.mark.parametrize("first", ["older tab", "newer tab"])
def test_two_tabs_finish_in_either_order(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored, first: str) -> None:
    invitation = invite_and_open(api, outbox, page)
    newer = page.context.new_page()
    newer.goto(invitation["inviteRedeemUrl"])  # the browser's one cookie now holds the newer tab's sign-in
    tabs = [page, newer] if first == "older tab" else [newer, page]
    # The older tab's answer meets the newer tab's flow: a fresh sign-in instead of "already used".
    screens = [signed_in(tab, stack) for tab in tabs]
    # The B2C screen each tab shows; the older tab's answer, first, meets the newer flow: one fresh sign-in more.
    # The second tab's answer meets the first one's session: straight on to the company page.
    assert screens == ([2, 1] if first == "older tab" else [1, 1])
    edit(tabs[0])
    tabs[1].reload()
    shows_the_edits(tabs[1])  # the draft follows into the other tab
    create_company(tabs[1], stack)
    create_company(tabs[0], stack)  # the other tab's CREATE COMPANY: already done, the welcome page
    entity = stored.invitation(invitation["id"])
    assert entity["Status"] == "completed" and entity["data"]["completion"]["company"]["city"] == EDITED["#city"]


def test_reload_a_new_tab_and_back_keep_what_was_typed(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    invitation = invite_and_open(api, outbox, page)
    signed_in(page, stack)
    edit(page)
    page.reload()
    shows_the_edits(page)
    tab = page.context.new_page()
    tab.goto(invitation["inviteRedeemUrl"])  # the e-mail link again, signed in: straight to the company page
    on_company_page(tab, stack)
    shows_the_edits(tab)
    tab.close()
    create_company(page, stack)
    assert page.evaluate(f"() => localStorage.getItem('rconnect-draft:{invitation['id']}')") is None, "the draft is done with"
    page.go_back()  # to the company page: already completed, the welcome page again
    expect(page.locator("#welcome-title")).to_be_visible()
    page.goto(invitation["inviteRedeemUrl"])  # the used link after completion, same browser: welcome
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    assert stored.invitation(invitation["id"])["data"]["completion"]["company"]["name"] == EDITED["#name"]


def test_a_revoke_while_editing_shows_what_was_typed_and_how_to_send_it(
    stack: Any, api: Any, outbox: Any, page: Page, stored: Stored
) -> None:
    inviter = {"name": "Marco Rossi", "organisation": "rConnect Service", "email": "marco.rossi@rconnect.example"}
    invitation = invite_and_open(api, outbox, page, inviter=inviter)
    signed_in(page, stack)
    edit(page)
    assert api.post(f"/invitations/{invitation['id']}/revoke").status_code == 200
    page.click("#create-company")
    expect(page.locator("#message-title")).to_have_text("This invitation was withdrawn")
    for value in EDITED.values():
        expect(page.locator("#draft")).to_contain_text(value)
    mailto = unquote(page.locator("#send-draft").get_attribute("href") or "")
    assert mailto.startswith("mailto:marco.rossi@rconnect.example?") and EDITED["#name"] in mailto
    assert (page.locator("#message-action").get_attribute("href") or "").startswith("mailto:marco.rossi@rconnect.example?")
    expect(page.locator("#message-contact")).to_contain_text("write to Marco Rossi")
    assert_accessible(page)


def test_a_sign_in_answer_after_its_flow_expired_resumes(
    stack: Any, api: Any, outbox: Any, page: Page, stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    invitation = invite_and_open(api, outbox, page)
    # Past SIGN_IN_MAX_AGE_SECONDS: the invitee went for coffee at the code page.
    age_the_sign_in(page, stack, monkeypatch, SIGN_IN_MAX_AGE_SECONDS + 60)
    # Its own B2C screen, then one fresh sign-in screen (B2C's SSO session would skip it; the stand-in has none).
    assert signed_in(page, stack) == 2
    create_company(page, stack)
    assert stored.invitation(invitation["id"])["Status"] == "completed"


def test_the_link_after_completion_in_another_browser_leads_to_the_portals_sign_in(
    stack: Any, api: Any, outbox: Any, page: Page, browser: Browser
) -> None:
    invitation = invite_and_open(api, outbox, page)
    signed_in(page, stack)
    create_company(page, stack)
    other = new_page(browser)
    try:
        other.goto(link_from_outbox(outbox, invitation["invitee"]["email"]))
        expect(other.locator("#message-title")).to_have_text("Your company is already set up")
        assert other.locator("a.button:not(.secondary)").count() == 1, "one primary button"
        assert other.locator("#message-action").get_attribute("href") == str(get_settings().portal_url)
        assert_accessible(other)
    finally:
        other.context.close()


def test_a_slow_sign_up_with_a_re_sent_code_completes_after_20_minutes(
    stack: Any, api: Any, outbox: Any, page: Page, stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's slowest realistic sign-up: a code, a new code asked for, Yes on the terms 20 minutes
    after the link was opened. B2C's code lives 10 minutes from being sent, its sign-in far longer; the
    local B2C keeps the same lifetimes, checked on its own clock in tests/test_local_b2c.py."""
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    screens = 1  # the sign-in page
    page.click("#createAccount")
    screens += 1
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.click("#send-code")
    expect(page.locator("#verify")).to_be_visible()
    screens += 1
    first = verification_code(outbox, email)
    page.click("#resend")  # the first e-mail is slow to come: "Send new code"
    expect(page.locator("#info")).to_have_text("A new verification code has been sent to your inbox.")
    assert len(verification_emails(outbox, email)) == 2
    second = verification_code(outbox, email)
    if second != first:  # the re-sent code replaces the first one
        page.fill("#code", first)
        page.click("#verify")
        expect(page.locator("#error")).to_contain_text("does not match our records")
    age_the_sign_in(page, stack, monkeypatch, 20 * 60)  # the invitee answers 20 minutes after opening the link
    page.fill("#code", second)
    page.click("#verify")
    expect(page.locator("#accept")).to_be_visible()
    screens += 1
    page.click("#accept")
    on_company_page(page, stack)
    screens += 1
    create_company(page, stack)
    screens += 1
    assert screens == 6  # sign-in, sign-up, code, terms, company, welcome: no detour for the slow invitee
    entity = stored.invitation(invitation["id"])
    assert entity["Status"] == "completed" and entity["data"]["accepted_by"]["account_type"] == "local"


def test_the_administrators_decline_says_so_in_words_and_leads_back(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    """CASE 1 with admin consent, declined: a sentence in the invitee's language (the AADSTS code only in
    "details"), a contact, one primary button back to the instructions, from where the approval can be
    asked for again; axe finds nothing serious."""
    domain = "approval-declined.example"  # approved at the end: a domain of its own (CONSENT_REQUIRED_DOMAINS)
    tenant = tenant_guid(domain)
    assert stored.consents(tenant) == [], "the IdP's approval lasts as long as its process: one test per domain"
    email = unique_email("olga", domain)
    inviter = {"name": "Marco Rossi", "organisation": "rConnect Service", "email": "marco.rossi@rconnect.example"}
    invitation = invite_and_open(api, outbox, page, invitee={"email": email, "displayName": "Olga Novak"}, inviter=inviter)
    screens = 1
    sign_in_with_work_account(page)
    page.wait_for_url(re.compile(re.escape(f"{stack.base_url}/api/InviteUser/callback") + r"\?.*"))
    expect(page.locator("#message-title")).to_have_text("Your IT administrator needs to approve My rConnect")
    screens += 1
    page.click("#message-action")
    expect(page.locator("#consent-url")).to_be_visible()
    screens += 1
    page.click("#consent-url")
    expect(page.locator("h1")).to_have_text("Permissions requested")
    screens += 1
    page.click("#decline")  # the administrator's Cancel
    screens += 1

    page.wait_for_url(re.compile(re.escape(f"{stack.base_url}/api/AdminConsent/callback") + r"\?.*"))
    expect(page.locator("#message-title")).to_have_text("My rConnect was not approved")
    expect(page.locator("#message-text")).to_contain_text("The administrator declined to approve My rConnect.")
    expect(page.locator("#message-text")).not_to_contain_text("AADSTS")
    expect(page.locator("#message-details")).to_contain_text("AADSTS65004")
    expect(page.locator("#message-details")).to_have_js_property("open", False)
    expect(page.locator("#message-contact")).to_contain_text("Marco Rossi")
    assert page.locator("a.button:not(.secondary), button:not(.secondary)").count() == 1, "one primary button"
    assert_accessible(page)
    [consent] = [row for row in stored.consents(tenant) if row["InvitationId"] == invitation["id"]]
    assert consent["Granted"] is False and "AADSTS65004" in consent["Error"]

    # The button goes back to the instructions; the approval asked for again and given this time.
    page.click("#message-action")
    expect(page.locator("#consent-url")).to_be_visible()
    page.click("#consent-url")
    page.fill("#admin-email", f"it-admin@{domain}")
    page.click("#accept")
    expect(page.locator("#message-title")).to_have_text("Thank you — My rConnect is approved")
    page.click("#message-action")
    sign_in_with_work_account(page)
    on_company_page(page, stack)
    create_company(page, stack)
    screens += 6  # the instructions, Permissions requested, approved, sign-in, company, welcome
    assert screens == 11
    assert stored.invitation(invitation["id"])["Status"] == "completed"


def test_back_from_the_company_page_with_edits_comes_back_to_them(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    """Back from the company page lands on the sign-in's "expired" page; its one button starts again, and
    the company page shows what was typed. Back from the welcome page shows the welcome page again; further
    Back reaches the ended sign-in, whose button leads to the welcome page after one sign-in screen."""
    invite_and_open(api, outbox, page)
    signed_in(page, stack)
    edit(page)
    page.go_back()
    expect(page.locator("#start-again")).to_be_visible()
    page.click("#start-again")
    assert signed_in(page, stack) == 1
    shows_the_edits(page)
    create_company(page, stack)
    page.go_back()  # the company page's entry: already done, the welcome page
    expect(page.locator("#welcome-title")).to_be_visible()
    page.go_back()  # further back, into the ended sign-in: its button leads to the welcome page again
    page.click("#start-again")
    page.click("#work-account")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_be_visible()
