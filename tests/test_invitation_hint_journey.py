"""The B2C invitation journey (SIGN_IN_HINT=id_token_hint) in a real browser: the invitation proves
the mailbox, so after the e-mail the invitee sees three screens — the sign-in page with the address
locked, the sign-up page (address read-only, password, terms; no e-mail code), the company page.
Screenshots `hint-NN-*.png` go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame, Page, expect

from tests.local_b2c import STRONG_PASSWORD
from tests.storage import Stored
from tests.support import Api, Outbox
from tests.test_journey_browser import TIMEOUT_MS, assert_completed, link_from_outbox, on_company_page
from tools.localstack.run_local import RUN_APP_SETTINGS
from tools.localstack.stack import LocalStack, StackConfig


@pytest.fixture(scope="module")
def hint_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("hint-stack"), app_env={**RUN_APP_SETTINGS, "SIGN_IN_HINT": "id_token_hint"})
    with LocalStack(config) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(ignore_https_errors=True, locale="en-GB", viewport={"width": 1100, "height": 1300})
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def test_the_invitation_reaches_the_company_page_in_three_screens_with_the_address_locked(
    hint_stack: LocalStack, page: Page, artifacts: Path
) -> None:
    api, outbox, stored = Api(hint_stack), Outbox(hint_stack.outbox), Stored.of(hint_stack)
    invitation = api.invite()
    email = invitation["invitee"]["email"]
    screens: list[str] = []  # every page the browser shows (redirects in between are not screens)

    def shown(frame: Frame) -> None:
        if frame == page.main_frame:
            screens.append(frame.url)

    page.on("framenavigated", shown)
    page.goto(link_from_outbox(outbox, email))

    # 1: the sign-in page, the invited address locked.
    expect(page.locator("#email")).to_have_value(email)
    expect(page.locator("#email")).to_have_attribute("readonly", "")
    page.screenshot(path=str(artifacts / "hint-01-signin.png"), full_page=True)
    page.click("#createAccount")

    # 2: password and terms, the address read-only; no verification code is asked or sent.
    expect(page.locator("#create")).to_be_visible()
    expect(page.locator("#email")).to_have_value(email)
    expect(page.locator("#email")).to_have_attribute("readonly", "")
    expect(page.locator("#send-code")).to_have_count(0)
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.check("#terms")
    page.screenshot(path=str(artifacts / "hint-02-password-and-terms.png"), full_page=True)
    page.click("#create")

    # 3: the company page.
    on_company_page(page, hint_stack)
    expect(page.locator("#email")).to_have_value(email)
    page.screenshot(path=str(artifacts / "hint-03-company.png"), full_page=True)
    assert len(screens) == 3, screens
    assert screens[-1] == f"{hint_stack.base_url}/api/CreateCompany"
    assert len(outbox.messages_to(email)) == 1  # the invitation only: no verification code was e-mailed

    page.click("#create-company")
    page.wait_for_url(f"{hint_stack.base_url}/api/Welcome")
    assert_completed(stored, invitation, "local")
