"""The local B2C's pages where a customer strays from the guide's path, in headless Chromium: a
weak password, "No" on the terms, "Forgot your password?", Back onto a sign-in that has ended, and
another address typed at sign-up. Each ends on the company page, or on a page whose button leads on."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.local_b2c import STRONG_PASSWORD, verification_code
from tests.support import unique_email
from tests.test_accessibility import serious_violations
from tests.test_journey_browser import invite_and_open, on_company_page, page, sign_up_with_email_code

__all__ = ["page"]  # the fixture


def test_a_weak_password_keeps_what_was_typed_and_the_focus(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    invite_and_open(api, outbox, page)
    page.click("#createAccount")
    page.fill("#newPassword", "weakpassword")
    page.fill("#reenterPassword", "weakpassword")
    page.click("#send-code")
    expect(page.locator("#error")).to_contain_text("The password must have at least 3 of the following")
    expect(page.locator("#newPassword")).to_be_focused()
    expect(page.locator("#newPassword")).to_have_value("weakpassword")
    expect(page.locator("#newPassword")).to_have_attribute("aria-invalid", "true")
    page.fill("#newPassword", STRONG_PASSWORD)
    page.click("#send-code")
    expect(page.locator("#error")).to_contain_text("The password entry fields do not match")
    expect(page.locator("#reenterPassword")).to_be_focused()


def test_no_on_the_terms_says_the_account_exists_and_review_continues(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    sign_up_with_email_code(page, outbox, email)
    page.click("#decline")
    expect(page.locator("h1")).to_have_text("You did not accept the terms")
    expect(page.locator("#declined-account")).to_contain_text(f"Your account {email} has been created")
    page.reload()  # a reload shows the same page, nothing to resubmit
    page.click("#review-terms")
    expect(page.locator("#accept")).to_be_visible()
    page.click("#accept")
    on_company_page(page, stack)


def test_forgot_password_after_leaving_at_the_terms(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    """The account was created, the terms declined and the sign-in left; later the password is
    forgotten: B2C's reset (a code e-mailed, a new password), then the terms, then the company page."""
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    sign_up_with_email_code(page, outbox, email)
    page.click("#decline")
    page.click("#cancel")
    page.click("#message-action")  # the app's page: sign in again
    page.click("#forgot-password")
    expect(page.locator("#reset-intro")).to_be_visible()
    expect(page.locator("#email")).to_have_value(email)
    page.click("#send-code")
    expect(page.locator("#code-email")).to_have_text(email)
    page.fill("#code", verification_code(outbox, email))
    page.click("#verify")
    expect(page.locator("#reset-email")).to_have_text(email)
    page.fill("#newPassword", "Remembered-2027")
    page.fill("#reenterPassword", "Remembered-2027")
    page.click("#continue")
    expect(page.locator("#accept")).to_be_visible()  # the terms, declined last time
    page.click("#accept")
    on_company_page(page, stack)


def test_signing_up_again_offers_to_sign_in(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    sign_up_with_email_code(page, outbox, email)
    page.click("#decline")
    page.click("#cancel")
    page.click("#message-action")  # the app's page: sign in again
    page.click("#createAccount")
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.click("#send-code")
    expect(page.locator("#info")).to_contain_text(f"An account already exists for {email}")
    expect(page.locator("#email")).to_have_value(email)
    page.fill("#password", STRONG_PASSWORD)
    page.click("#next")
    page.click("#accept")
    on_company_page(page, stack)


def test_back_inside_the_sign_in_returns_to_its_current_step(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    """Back from the terms page after a wrong code: the terms page again, never "Confirm Form Resubmission"."""
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    page.click("#createAccount")
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.click("#send-code")
    page.fill("#code", "000000" if verification_code(outbox, email) != "000000" else "111111")
    page.click("#verify")
    expect(page.locator("#error")).to_be_visible()
    page.fill("#code", verification_code(outbox, email))
    page.click("#verify")
    expect(page.locator("#accept")).to_be_visible()
    page.go_back()
    expect(page.locator("#accept")).to_be_visible()
    page.click("#accept")
    on_company_page(page, stack)


def test_back_onto_an_ended_sign_in_offers_to_start_again(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    invitation = invite_and_open(api, outbox, page)
    page.click("#work-account")
    on_company_page(page, stack)
    page.go_back()
    expect(page.locator("h1")).to_have_text("This page has expired")
    expect(page.locator("body")).not_to_contain_text("session_not_found")
    page.click("#start-again")
    expect(page.locator("#work-account")).to_be_visible()
    expect(page.locator("#email")).to_have_value(invitation["invitee"]["email"])


def test_another_address_typed_at_sign_up_leads_back_to_the_invited_one(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    invitation = invite_and_open(api, outbox, page)
    invited, other = invitation["invitee"]["email"], unique_email("anna.private", "mail.example")
    page.click("#createAccount")
    page.fill("#email", other)
    page.fill("#newPassword", STRONG_PASSWORD)
    page.fill("#reenterPassword", STRONG_PASSWORD)
    page.click("#send-code")
    expect(page.locator("#code-email")).to_have_text(other)
    page.fill("#code", verification_code(outbox, other))
    page.click("#verify")
    page.click("#accept")
    # The app's page says which address the invitation is for; its button signs in again.
    expect(page.locator("body")).to_contain_text(invited)
    page.click("#message-action")
    expect(page.locator("#work-account")).to_be_visible()
    expect(page.locator("#email")).to_have_value(invited)
    sign_up_with_email_code(page, outbox, invited)
    page.click("#accept")
    on_company_page(page, stack)


def assert_clean(page: Page, name: str) -> None:
    assert serious_violations(page) == [], name


def test_the_sign_in_pages_pass_axe(stack: Any, api: Any, outbox: Any, page: Page) -> None:
    """Every page of the local B2C a customer can reach, checked by axe-core as the app's pages are."""
    invitation = invite_and_open(api, outbox, page)
    email = invitation["invitee"]["email"]
    assert_clean(page, "sign-in")
    page.click("#createAccount")
    page.fill("#newPassword", "weak")
    page.click("#send-code")  # the refusal shown in the page
    expect(page.locator("#error")).to_be_visible()
    assert_clean(page, "sign-up, refused")
    page.go_back()
    sign_up_with_email_code(page, outbox, email)
    assert_clean(page, "terms")
    page.click("#decline")
    assert_clean(page, "declined")
    page.click("#cancel")
    page.click("#message-action")
    page.click("#forgot-password")
    assert_clean(page, "reset")
    page.click("#send-code")
    assert_clean(page, "code")
    page.fill("#code", verification_code(outbox, email))
    page.click("#verify")
    assert_clean(page, "new password")
    page.fill("#newPassword", "Remembered-2027")
    page.fill("#reenterPassword", "Remembered-2027")
    page.click("#continue")
    page.click("#accept")
    on_company_page(page, stack)
    page.go_back()
    expect(page.locator("#start-again")).to_be_visible()
    assert_clean(page, "expired")
