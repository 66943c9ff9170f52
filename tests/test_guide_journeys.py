"""The customer guide's journeys in English, French and German, in headless Chromium, with a
screenshot of every step the guide shows (JPEG, 1000 px wide) in test-artifacts/guide/{language}/,
and the invitation e-mail's text it quotes. `make guide` runs these and turns them into docs/guide/
(tools/localstack/guide.py).

They run on a stack of their own, as a customer would meet it: the people and companies of
guide.SCENARIO, the e-mail's links on guide.PUBLIC_HOST, the sign-in pages without their development
marker; every screenshot is checked for what a customer's guide must not show (guide.forbidden_text)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.local_b2c import STRONG_PASSWORD, verification_code
from tests.storage import Stored
from tests.support import Api, Outbox
from tests.test_journey_browser import TIMEOUT_MS, link_from_outbox
from tools.localstack.guide import COMPANY, EMAIL_TEXT, GUIDE_LANGUAGES, PUBLIC_HOST, SCENARIO, STEPS, forbidden_text, label
from tools.localstack.run_local import RUN_APP_SETTINGS
from tools.localstack.stack import LocalStack, StackConfig

WIDTH = 1000
GUIDE_ENTRA_CLIENT_ID = "5f0c8a2e-7d41-4b8e-9a36-2c1e7b9d4f60"
MICROSOFT_LOGIN = "https://login.microsoftonline.com"  # where production's admin-consent link points


@pytest.fixture(scope="module")
def guide_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    consent_domains = ",".join(people["consent"][0].split("@")[1] for people in SCENARIO.values())
    config = StackConfig.on_free_ports(
        tmp_path_factory.mktemp("guide-stack"),
        # The Entra application's id as production's looks (the admin-consent link shows it).
        app_env={**RUN_APP_SETTINGS, "ENTRA_CLIENT_ID": GUIDE_ENTRA_CLIENT_ID},
        idp_env={
            "IDP_DEVELOPMENT_MARKER": "0",
            "IDP_CONSENT_REQUIRED_DOMAINS": consent_domains,
            "IDP_ENTRA_CLIENT_ID": GUIDE_ENTRA_CLIENT_ID,
        },
    )
    with LocalStack(config) as running:
        yield running


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


class Guide:
    """One language's journeys on the guide's stack: its people, the screenshots named after the
    guide's steps (tools.localstack.guide.STEPS)."""

    def __init__(self, stack: LocalStack, page: Page, folder: Path, language: str) -> None:
        self.stack, self.page, self.folder, self.language = stack, page, folder, language
        self.api, self.outbox = Api(stack), Outbox(stack.outbox)
        folder.mkdir(parents=True, exist_ok=True)

    def shot(self, step: str) -> None:
        assert step in STEPS, step
        # Addresses a page prints (the admin-consent link, say) as production shows them: the app's on
        # the public host, the sign-in service's on Microsoft's.
        self.page.evaluate(
            """([hosts]) => {
              const swap = (text) => hosts.reduce((out, [local, shown]) => out.split(local).join(shown), text);
              const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
              for (let node = walker.nextNode(); node; node = walker.nextNode()) node.nodeValue = swap(node.nodeValue);
              for (const field of document.querySelectorAll('input:not([type=hidden]), textarea')) field.value = swap(field.value);
            }""",
            [
                [
                    (local, shown)
                    for pair in ((self.stack.base_url, PUBLIC_HOST), (self.stack.idp_url, MICROSOFT_LOGIN))
                    for local, shown in (pair, tuple(quote(url, safe="") for url in pair))
                ]
            ],
        )
        shown = forbidden_text(self.page.locator("body").inner_text())
        assert not shown, f"{step} shows {shown}"
        self.page.screenshot(path=str(self.folder / f"{step}.jpg"), full_page=True, type="jpeg", quality=70)

    def public(self, text: str) -> str:
        """`text` with the stack's address replaced by the public host the production e-mail carries."""
        return text.replace(self.stack.base_url, PUBLIC_HOST)

    def invite(self, part: str) -> dict[str, Any]:
        email, name = SCENARIO[self.language][part]
        return self.api.invite(
            language=self.language, invitee={"email": email, "displayName": name}, company=COMPANY[self.language], ttlDays=14
        )

    def open_the_invitation(self, part: str, step: str | None = None) -> dict[str, Any]:
        """The e-mail as a mail client shows it (its HTML part, links on the public host), its button
        as the guide quotes it, then the button's link: the sign-in page."""
        invitation = self.invite(part)
        address = invitation["invitee"]["email"]
        [message] = self.outbox.messages_to(address)
        link = link_from_outbox(self.outbox, address)
        if step:
            html = message.get_body(preferencelist=("html",))
            text = message.get_body(preferencelist=("plain",))
            assert html is not None and text is not None
            self.page.set_content(self.public(html.get_content()))
            # innerText is the text as rendered, CSS text-transform included. The button comes before the fallback link.
            button = self.page.locator(f'a[href="{self.public(link)}"]').first
            expect(button).to_have_text(label(self.language, "email.button"), use_inner_text=True)
            self.shot(step)
            if part == "case1":
                (self.folder / EMAIL_TEXT).write_text(self.public(text.get_content()), encoding="utf-8")
        self.page.goto(link)
        expect(self.page.locator("#work-account")).to_be_visible()
        assert self.page.locator("html").get_attribute("lang") == self.language  # ui_locales
        return invitation

    def sign_up(self, email: str, step_prefix: str | None) -> None:
        """ "Sign up now": the address, a new password, the code from the e-mail; the terms page."""
        page = self.page
        page.click("#createAccount")
        expect(page.locator("#email")).to_have_value(email)
        page.fill("#newPassword", STRONG_PASSWORD)
        page.fill("#reenterPassword", STRONG_PASSWORD)
        if step_prefix:
            self.shot(f"{step_prefix}-signup")
        page.click("#send-code")
        expect(page.locator("#verify")).to_be_visible()
        page.fill("#code", verification_code(self.outbox, email))
        if step_prefix:
            self.shot(f"{step_prefix}-code")
        page.click("#verify")
        expect(page.locator("#accept")).to_be_visible()
        expect(page.locator("#terms-link")).to_be_visible()

    def company_page_then_welcome(self, case: str) -> None:
        """The company page orange (ready), grey (a field wrong), orange again; its button as the guide
        quotes it (CREATE COMPANY); welcome."""
        page = self.page
        page.wait_for_url(f"{self.stack.base_url}/api/CreateCompany")
        button = page.locator("#create-company")
        expect(button).to_have_text(label(self.language, "company.submit"), use_inner_text=True)
        expect(button).not_to_have_attribute("aria-disabled", "true")
        self.shot(f"{case}-company-orange")
        city = page.locator("#city").input_value()
        page.fill("#city", "")
        expect(button).to_have_attribute("aria-disabled", "true")
        expect(page.locator("#city-error")).not_to_have_text("")
        self.shot(f"{case}-company-grey")
        page.fill("#city", city)
        expect(button).not_to_have_attribute("aria-disabled", "true")
        button.click()
        page.wait_for_url(f"{self.stack.base_url}/api/Welcome")
        expect(page.locator("#welcome-title")).to_be_visible()
        self.shot(f"{case}-welcome")


@pytest.fixture
def guide(guide_stack: LocalStack, page: Page, artifacts: Path, language: str) -> Guide:
    return Guide(guide_stack, page, artifacts / "guide" / language, language)


def test_case1_work_account(guide: Guide) -> None:
    guide.open_the_invitation("case1", "case1-email")
    guide.shot("case1-signin")
    guide.page.click("#work-account")
    guide.company_page_then_welcome("case1")


def test_case1_admin_consent(guide: Guide) -> None:
    """A work account whose organisation has not approved My rConnect yet: our page says so, the
    instructions give the administrator's link, the administrator accepts, the invitee goes on."""
    page, stack = guide.page, guide.stack
    guide.open_the_invitation("consent")
    page.click("#work-account")
    page.wait_for_url(re.compile(re.escape(f"{stack.base_url}/api/InviteUser/callback") + r"\?.*"))
    expect(page.locator("#message-action")).to_have_text(label(guide.language, "consent-required.action"), use_inner_text=True)
    guide.shot("consent-required")
    page.click("#message-action")
    expect(page.locator("#consent-url")).to_be_visible()
    guide.shot("consent-instructions")
    page.click("#consent-url")
    expect(page.locator("#admin-email")).to_be_visible()
    page.fill("#admin-email", SCENARIO[guide.language]["admin"][0])
    guide.shot("consent-admin")
    page.click("#accept")
    page.wait_for_url(re.compile(re.escape(f"{stack.base_url}/api/AdminConsent/callback") + r"\?.*"))
    guide.shot("consent-approved")
    page.click("#message-action")
    page.click("#work-account")
    page.wait_for_url(f"{stack.base_url}/api/CreateCompany")


def test_case2_new_account_with_a_verification_code(guide: Guide) -> None:
    invitation = guide.open_the_invitation("case2", "case2-email")
    guide.shot("case2-signin")
    guide.sign_up(invitation["invitee"]["email"], "case2")
    guide.shot("case2-consent")
    guide.page.click("#accept")
    guide.company_page_then_welcome("case2")


def test_when_something_goes_wrong(guide: Guide) -> None:
    """The guide's help: "No" on the terms, a forgotten password, Back onto a finished sign-in, an
    expired invitation; each page and its way on."""
    page, stack = guide.page, guide.stack
    invitation = guide.open_the_invitation("help")
    email = invitation["invitee"]["email"]
    guide.sign_up(email, None)
    page.click("#decline")
    expect(page.locator("#review-terms")).to_be_visible()
    guide.shot("help-declined")
    page.click("#cancel")
    expect(page.locator("#message-action")).to_have_text(label(guide.language, "sign-in-cancelled.action"), use_inner_text=True)
    page.click("#message-action")
    page.click("#forgot-password")
    expect(page.locator("#email")).to_have_value(email)
    guide.shot("help-forgot-password")
    page.click("#send-code")
    page.fill("#code", verification_code(guide.outbox, email))
    page.click("#verify")
    page.fill("#newPassword", "Remembered-2027")
    page.fill("#reenterPassword", "Remembered-2027")
    guide.shot("help-new-password")
    page.click("#continue")
    page.click("#accept")
    page.wait_for_url(f"{stack.base_url}/api/CreateCompany")
    page.go_back()
    expect(page.locator("#start-again")).to_be_visible()
    guide.shot("help-expired")

    late = guide.invite("late")  # opened after it expired
    Stored.of(stack).expire(late["id"])
    page.goto(link_from_outbox(guide.outbox, late["invitee"]["email"]))
    expect(page.locator("#message-action")).to_have_text(label(guide.language, "invitation-expired.action"), use_inner_text=True)
    guide.shot("help-invitation-expired")
