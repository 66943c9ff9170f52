"""No dead ends (issue 18), in headless Chromium: two tabs finishing in either order, Back, reload and a
new tab with edits, a revoke while editing, a sign-in answer after its flow expired, the link after
completion. Each ends on the welcome page, or on a page whose one primary button leads on, with nothing
typed lost; axe finds nothing serious on the pages only these journeys reach."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import azure.functions as func
import pytest
from playwright.sync_api import Browser, Page, expect

from shared.domain.invitations import SIGN_IN_MAX_AGE_SECONDS
from shared.settings import get_settings
from tests.storage import Stored
from tests.test_accessibility import assert_accessible, new_page
from tests.test_journey_browser import invite_and_open, link_from_outbox, on_company_page
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
    # Age the browser's sealed sign-in past SIGN_IN_MAX_AGE_SECONDS (the invitee went for coffee at the code page).
    [cookie] = [c for c in page.context.cookies() if c["name"] == COOKIE_NAME]
    with monkeypatch.context() as patched:
        patched.setenv("SESSION_SECRET", stack.session_secret)
        get_settings.cache_clear()
        request = func.HttpRequest("GET", stack.base_url, headers={"Cookie": f"{COOKIE_NAME}={cookie['value']}"}, body=b"")
        pending = pending_sign_in(request)
        assert pending is not None
        now = time.time()
        patched.setattr(time, "time", lambda: now - SIGN_IN_MAX_AGE_SECONDS - 60)
        late = sign_in_cookie(pending.progress.invitation_id, pending.progress.flow)
    get_settings.cache_clear()
    page.context.add_cookies([{**cookie, "value": late.split(";")[0].split("=", 1)[1]}])
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
