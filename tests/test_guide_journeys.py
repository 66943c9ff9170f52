"""The customer guide's two journeys in English, French and German, in headless Chromium, with a
screenshot of every step the guide shows (JPEG, 1000 px wide) in test-artifacts/guide/{language}/.
`make guide` runs these and turns the screenshots into docs/guide/ (tools/localstack/guide.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.local_b2c import STRONG_PASSWORD, verification_code
from tests.test_journey_browser import TIMEOUT_MS, link_from_outbox
from tools.localstack.guide import GUIDE_LANGUAGES, STEPS, label

WIDTH = 1000


@pytest.fixture(params=GUIDE_LANGUAGES)
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser, language: str) -> Iterator[Page]:
    # The browser asks for the guide's language too, as a customer's would.
    context = browser.new_context(ignore_https_errors=True, locale=language, viewport={"width": WIDTH, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


class Shots:
    """Screenshots named after the guide's steps (tools.localstack.guide.STEPS), one folder per language."""

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder = page, folder
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str) -> None:
        assert step in STEPS, step
        self.page.screenshot(path=str(self.folder / f"{step}.jpg"), full_page=True, type="jpeg", quality=70)


def open_the_invitation(api: Any, outbox: Any, page: Page, shot: Shots, case: str, language: str) -> dict[str, Any]:
    """The e-mail as a mail client shows it (its HTML part), its button as the guide quotes it, then
    the button's link: B2C's sign-in page."""
    invitation = api.invite(language=language)
    address = invitation["invitee"]["email"]
    [message] = outbox.messages_to(address)
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    page.set_content(html.get_content())
    link = link_from_outbox(outbox, address)
    # innerText is the text as rendered, CSS text-transform included. The button comes before the fallback link.
    expect(page.locator(f'a[href="{link}"]').first).to_have_text(label(language, "email.button"), use_inner_text=True)
    shot(f"{case}-email")
    page.goto(link)
    expect(page.locator("#work-account")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == language  # ui_locales
    shot(f"{case}-signin")
    return invitation


def company_page_then_welcome(page: Page, stack: Any, shot: Shots, case: str, language: str) -> None:
    """The company page orange (ready), grey (a field wrong), orange again; its button as the guide
    quotes it (CREATE COMPANY); welcome."""
    page.wait_for_url(f"{stack.base_url}/api/CreateCompany")
    button = page.locator("#create-company")
    expect(button).to_have_text(label(language, "company.submit"), use_inner_text=True)
    expect(button).not_to_have_attribute("aria-disabled", "true")
    shot(f"{case}-company-orange")
    city = page.locator("#city").input_value()
    page.fill("#city", "")
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#city-error")).not_to_have_text("")
    shot(f"{case}-company-grey")
    page.fill("#city", city)
    expect(button).not_to_have_attribute("aria-disabled", "true")
    button.click()
    page.wait_for_url(f"{stack.base_url}/api/Welcome")
    expect(page.locator("#welcome-title")).to_be_visible()
    shot(f"{case}-welcome")


def test_case1_work_account(stack: Any, api: Any, outbox: Any, page: Page, artifacts: Path, language: str) -> None:
    shot = Shots(page, artifacts / "guide" / language)
    open_the_invitation(api, outbox, page, shot, "case1", language)
    page.click("#work-account")
    company_page_then_welcome(page, stack, shot, "case1", language)


def test_case2_new_account_with_a_verification_code(stack: Any, api: Any, outbox: Any, page: Page, artifacts: Path, language: str) -> None:
    shot = Shots(page, artifacts / "guide" / language)
    invitation = open_the_invitation(api, outbox, page, shot, "case2", language)
    email = invitation["invitee"]["email"]
    page.click("#createAccount")
    expect(page.locator("#send-code")).to_be_visible()
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    shot("case2-signup")
    page.click("#send-code")
    expect(page.locator("#verify")).to_be_visible()
    page.fill("#code", verification_code(outbox, email))
    shot("case2-code")
    page.click("#verify")
    expect(page.locator("#accept")).to_be_visible()
    expect(page.locator("#terms-link")).to_be_visible()
    shot("case2-consent")
    page.click("#accept")
    company_page_then_welcome(page, stack, shot, "case2", language)
