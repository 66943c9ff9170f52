"""Every invitee page in headless Chromium, checked by axe-core (npm, injected by Playwright), and the
company page driven by keyboard as a screen-reader or keyboard user would.

axe-core's serious and critical findings fail the test (contrast, names, labels, ARIA misuse); the
local IdP's pages stand in for B2C and are not ours. Contrast is also measured directly on the
buttons, in both states, so the colours cannot drift below WCAG AA (4.5:1) unnoticed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.storage import Stored
from tests.test_journey_browser import (
    GREY,
    ORANGE,
    TIMEOUT_MS,
    background,
    invite_and_open,
    on_company_page,
    sign_in_with_work_account,
)

AXE = Path(__file__).resolve().parent.parent / "tools" / "node_modules" / "axe-core" / "axe.min.js"

# WCAG 2.x contrast ratio of an element's text colour against its own background colour.
CONTRAST = """selector => {
  const style = getComputedStyle(document.querySelector(selector));
  const rgb = (colour) => colour.match(/[0-9.]+/g).slice(0, 3).map(Number);
  const channel = (value) => { const v = value / 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const [light, dark] = [luminance(rgb(style.color)), luminance(rgb(style.backgroundColor))].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""


def new_page(browser: Browser, locale: str = "en-GB") -> Page:
    # bypass_csp: the pages allow only their own nonce'd script, and axe-core is injected from outside.
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, locale=locale, viewport={"width": 1100, "height": 1300})
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)
    yield page
    page.context.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run ./tools/localstack/bootstrap.sh (npm ci installs axe-core)", pytrace=False)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"], "where": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page: Page) -> None:
    assert serious_violations(page) == [], page.url


def contrast(page: Page, selector: str) -> float:
    return float(page.evaluate(CONTRAST, selector))


def summary_links(page: Page) -> list[tuple[str, str]]:
    links = page.locator("#error-summary a")
    return [(links.nth(i).inner_text(), links.nth(i).get_attribute("href") or "") for i in range(links.count())]


def in_viewport(page: Page, selector: str) -> bool:
    return bool(
        page.eval_on_selector(
            selector,
            """element => { const box = element.getBoundingClientRect();
                return box.top >= 0 && box.bottom <= window.innerHeight && box.height > 0; }""",
        )
    )


def company_page(api: Any, outbox: Any, page: Page, stack: Any, **overrides: Any) -> dict[str, Any]:
    invitation = invite_and_open(api, outbox, page, **overrides)
    sign_in_with_work_account(page)
    on_company_page(page, stack)
    return invitation


# -- the company page ------------------------------------------------------------------------------


def test_company_page_orange_and_grey_meet_aa_and_pass_axe(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    company_page(api, outbox, page, stack)
    button = page.locator("#create-company")

    # Ready: orange, dark text.
    assert background(page, "#create-company") == ORANGE
    assert button.get_attribute("aria-disabled") is None
    assert contrast(page, "#create-company") >= 4.5
    assert page.locator("#error-summary").inner_text() == ""
    assert_accessible(page)

    # Not ready: grey, still AA, with the summary beside it.
    page.fill("#city", "")
    expect(button).to_have_attribute("aria-disabled", "true")
    assert background(page, "#create-company") == GREY
    assert contrast(page, "#create-company") >= 4.5
    assert summary_links(page) == [("City: Enter the city (up to 200 characters).", "#city")]
    assert_accessible(page)


def test_grey_button_stays_focusable_and_leads_to_the_first_invalid_field(
    stack: Any, api: Any, outbox: Any, page: Page, stored: Stored
) -> None:
    invitation = company_page(api, outbox, page, stack)
    posts: list[Request] = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)
    button = page.locator("#create-company")

    page.fill("#city", "")
    page.fill("#phone", "+41 52")
    # The summary is a live region that describes the button, in the order of the form.
    summary = page.locator("#error-summary")
    assert summary.get_attribute("aria-live") == "polite"
    assert button.get_attribute("aria-describedby") == "error-summary"
    assert [text for text, _ in summary_links(page)] == [
        "City: Enter the city (up to 200 characters).",
        "Phone: Enter a phone number with at least 6 digits, e.g. +41 44 123 45 67.",
    ]

    # Keyboard users reach the grey button; pressing it moves focus to the first field to fix.
    button.focus()
    expect(button).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#city")).to_be_focused()
    # Enter in any field does the same, and nothing is sent.
    page.focus("#street")
    page.keyboard.press("Enter")
    expect(page.locator("#city")).to_be_focused()
    page.focus("#create-company")
    page.keyboard.press("Space")
    expect(page.locator("#city")).to_be_focused()
    assert posts == [] and page.url == f"{stack.base_url}/api/CreateCompany"

    # Each entry of the summary takes the user to its field.
    summary.get_by_role("link", name=re.compile("^Phone")).click()
    expect(page.locator("#phone")).to_be_focused()
    page.keyboard.type("999 88 77")
    assert [text for text, _ in summary_links(page)] == ["City: Enter the city (up to 200 characters)."]

    page.fill("#city", "Frauenfeld TG")
    expect(button).not_to_have_attribute("aria-disabled", "true")
    expect(summary).to_have_text("")
    assert background(page, "#create-company") == ORANGE
    page.focus("#name")
    page.keyboard.press("Enter")  # a valid form is sent from the keyboard too
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    assert stored.invitation(invitation["id"])["Status"] == "completed"


def test_on_a_phone_the_reason_is_on_screen_with_the_grey_button(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    company_page(api, outbox, page, stack)
    page.set_viewport_size({"width": 390, "height": 844})
    page.fill("#name", "")  # the first field, far above the button on a phone
    button = page.locator("#create-company")
    button.scroll_into_view_if_needed()
    assert not in_viewport(page, "#name")
    assert in_viewport(page, "#create-company") and in_viewport(page, "#error-summary a")
    expect(page.locator("#error-summary a")).to_have_text("Company name: Enter the company name (up to 200 characters).")
    button.press("Enter")
    expect(page.locator("#name")).to_be_focused()
    assert in_viewport(page, "#name")
    assert_accessible(page)


def test_server_refusal_shows_the_same_summary_beside_the_button(stack: Any, api: Any, outbox: Any, page: Page, stored: Stored) -> None:
    invitation = company_page(api, outbox, page, stack)
    # Post an invalid form past the page's own checks: a copy of the form has none of its listeners.
    page.evaluate(
        """() => {
          const form = document.getElementById("company-form");
          const copy = form.cloneNode(true);
          form.replaceWith(copy);
          copy.querySelector("#city").value = "   ";
          copy.querySelector("#website").value = "ftp://nope";
          copy.requestSubmit();
        }"""
    )
    expect(page.locator("#form-errors")).to_be_visible()
    assert summary_links(page) == [
        ("City: Enter the city (up to 200 characters).", "#city"),
        ("Website (optional): Enter a full address starting with https:// or http://, or leave it empty.", "#website"),
    ]
    expect(page.locator("#create-company")).to_have_attribute("aria-disabled", "true")
    assert background(page, "#create-company") == GREY
    assert_accessible(page)

    page.locator("#create-company").press("Enter")
    expect(page.locator("#city")).to_be_focused()
    page.fill("#city", "Frauenfeld TG")
    page.fill("#website", "")
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    assert stored.invitation(invitation["id"])["Status"] == "completed"


# -- the other pages -------------------------------------------------------------------------------


def test_welcome_page_has_a_way_on_and_passes_axe(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    company_page(api, outbox, page, stack)
    page.click("#create-company")
    page.wait_for_url(f"{stack.base_url}/api/Welcome")

    portal = page.locator("#go-to-portal")
    expect(portal).to_have_text("Go to My rConnect")
    assert portal.get_attribute("href") == "https://my.rconnect.example/"
    assert contrast(page, "#go-to-portal") >= 4.5
    links = page.locator("#welcome-links a")
    assert [(links.nth(i).inner_text(), links.nth(i).get_attribute("href")) for i in range(links.count())] == [
        ("Service requests", "https://my.rconnect.example/service-requests"),
        ("Machine overview", "https://my.rconnect.example/assets"),
        ("Documentation", "https://docs.rconnect.example/"),
        ("Customer success", "mailto:customer.success@rconnect.example"),
    ]
    assert_accessible(page)


@pytest.mark.parametrize(
    ("language", "portal", "service"),
    [
        ("fr", "Accéder à My rConnect", "Demandes de service"),
        ("de", "Zu My rConnect", "Serviceanfragen"),
        ("it", "Vai a My rConnect", "Richieste di assistenza"),
        ("es", "Ir a My rConnect", "Solicitudes de servicio"),
    ],
)
def test_welcome_page_in_every_language(stack: Any, browser: Browser, language: str, portal: str, service: str) -> None:
    page = new_page(browser, locale=language)
    try:
        page.goto(f"{stack.base_url}/api/Welcome")
        assert page.locator("html").get_attribute("lang") == language
        expect(page.locator("#go-to-portal")).to_have_text(portal)
        expect(page.locator("#welcome-links a").first).to_have_text(service)
        assert_accessible(page)
    finally:
        page.context.close()


def test_message_pages_pass_axe(stack: Any, api: Any, page: Page, stored: Stored) -> None:
    link = f"{stack.base_url}/api/InviteUser?invitationId="
    expired, revoked = api.invite(), api.invite()
    stored.expire(expired["id"])
    assert api.post(f"/invitations/{revoked['id']}/revoke").status_code == 200
    pages = {
        "invalid-id": link + "not-a-uuid",
        "not-found": link + str(uuid.uuid4()),
        "invitation-expired": link + expired["id"],
        "invitation-revoked": link + revoked["id"],
        "session-expired": f"{stack.base_url}/api/CreateCompany",
    }
    for kind, url in pages.items():
        page.goto(url)
        expect(page.locator("#message-title")).to_have_attribute("data-kind", kind)
        if page.locator("#message-action").count():
            assert contrast(page, "#message-action") >= 4.5, kind
        assert serious_violations(page) == [], kind


def test_admin_consent_page_passes_axe(stack: Any, page: Page) -> None:
    page.goto(f"{stack.base_url}/api/AdminConsent?tenant=contoso.example")
    expect(page.locator("#consent-url")).to_be_visible()
    assert contrast(page, "button.button") >= 4.5
    assert_accessible(page)

    page.goto(f"{stack.base_url}/api/AdminConsent?tenant=not+a+tenant")
    expect(page.locator(".error")).not_to_have_text("")
    assert_accessible(page)
