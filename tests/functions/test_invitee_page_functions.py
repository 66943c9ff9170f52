"""The invitee's page functions in-process: the right page and status for each case, HTML only."""

from __future__ import annotations

from typing import Any

from accept_invitation.admin_consent import admin_consent_help
from accept_invitation.email_link import open_invitation_link
from accept_invitation.sign_in_callback import sign_in_callback
from create_company.company_page import company_page
from create_company.welcome_page import welcome
from shared.domain.models import InvitationRequest
from shared.wiring import Services
from tests.functions.conftest import call, request
from tests.support import invitation_body


def page(response: Any, status: int) -> str:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "text/html"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    html: str = response.get_body().decode()
    assert "Traceback" not in html
    return html


def link(invitation_id: str, **headers: str) -> Any:
    req = request("GET", "/api/InviteUser", params={"invitationId": invitation_id}, headers=headers)
    return call(open_invitation_link, req)


def new_invitation(app: Services) -> str:
    view, _ = app.invitations.create(InvitationRequest.model_validate(invitation_body()), actor="t", idempotency_key=None)
    return view.id


def test_a_malformed_or_unknown_link_explains_itself(app: Services) -> None:
    page(link("not-a-uuid"), 400)
    page(link("00000000-0000-0000-0000-000000000000"), 404)


def test_a_revoked_invitation_is_410(app: Services) -> None:
    invitation_id = new_invitation(app)
    app.invitations.revoke(invitation_id, "t")
    page(link(invitation_id), 410)


def test_b2c_down_is_a_503_page_with_retry_after_and_no_cookie(app: Services) -> None:
    response = link(new_invitation(app))
    html = page(response, 503)
    assert "Sign-in is not available right now" in html
    assert int(response.headers["Retry-After"]) > 0 and "Set-Cookie" not in response.headers


def test_a_callback_without_any_cookie_of_ours_asks_for_the_email_link_again(app: Services) -> None:
    # Nothing tells which invitation this was (cookies blocked or cleared): the e-mail link does, and a contact.
    response = call(sign_in_callback, request("GET", "/api/InviteUser/callback", params={"state": "s", "code": "c"}))
    html = page(response, 400)
    assert 'data-kind="sign-in-lost"' in html and 'id="message-contact"' in html


def test_the_company_page_without_a_session_speaks_the_browser_language(app: Services) -> None:
    response = call(company_page, request("GET", "/api/CreateCompany", headers={"accept-language": "fr-CH, en;q=0.5"}))
    assert '<html lang="fr"' in page(response, 401)
    assert "Relation client" in page(response, 401), "Customer Success, translated"


def test_welcome_without_a_session(app: Services) -> None:
    page(call(welcome, request("GET", "/api/Welcome")), 200)


def test_admin_consent_help_refuses_a_malformed_tenant(app: Services) -> None:
    page(call(admin_consent_help, request("GET", "/api/AdminConsent", params={"tenant": "not a tenant"})), 400)
