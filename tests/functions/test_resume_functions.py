"""Resume instead of refuse, entry by entry (issue 18): the e-mail link again, a second tab, Back, a
late, replaced or used sign-in answer, an ended session, a revoke while editing. Each answer sends the
invitee where they belong or shows a page whose button leads on, with what they typed. B2C is down in
these tests, so an answer that needs no sign-in provably asks B2C nothing."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

import pytest

from accept_invitation.admin_consent import admin_consent_callback
from accept_invitation.email_link import open_invitation_link
from accept_invitation.sign_in_callback import sign_in_callback
from create_company.company_page import company_page, create_company
from shared.domain.invitations import SIGN_IN_MAX_AGE_SECONDS
from shared.domain.models import CompanyForm, InvitationRequest, SignedInUser
from shared.settings import get_settings
from shared.wiring import Services
from tests.functions.conftest import call, request
from tests.functions.test_invitee_page_functions import page
from tests.support import invitation_body, unique_email
from web.cookies import ConsentState, seal, session_cookie, sign_in_cookie

FLOW = {"state": "the-flow-state", "nonce": "n", "code_verifier": "v", "redirect_uri": "http://localhost:7071/api/InviteUser/callback"}
FIELDS = {"name": "Contoso Robotics AG", "street": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich", "country": "CH"}


def invitation(app: Services, **changes: Any) -> tuple[str, SignedInUser]:
    email = unique_email("resume")
    body = invitation_body(invitee={"email": email, "displayName": "Anna"}, **changes)
    view, _ = app.invitations.create(InvitationRequest.model_validate(body), actor="t", idempotency_key=None)
    return view.id, SignedInUser(object_id=f"oid-{view.id}", email=email, name="Anna", account_type="local")


def accepted(app: Services, **changes: Any) -> tuple[str, SignedInUser]:
    invitation_id, anna = invitation(app, **changes)
    app.invitations.accept(app.invitations.load(invitation_id), anna)
    return invitation_id, anna


def completed(app: Services) -> tuple[str, SignedInUser]:
    invitation_id, anna = accepted(app)
    form = CompanyForm.model_validate({**invitation_body()["company"], "contactName": "Anna K."})
    app.companies.complete(app.invitations.load(invitation_id), form, anna)
    return invitation_id, anna


def cookie(set_cookie: str) -> dict[str, str]:
    return {"Cookie": set_cookie.split(";")[0]}


def link(invitation_id: str, headers: dict[str, str] | None = None) -> Any:
    return call(open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": invitation_id}, headers=headers or {}))


def callback(headers: dict[str, str], state: str = FLOW["state"]) -> Any:
    return call(sign_in_callback, request("GET", "/api/InviteUser/callback", params={"state": state, "code": "c"}, headers=headers))


def sealed_minutes_ago(monkeypatch: pytest.MonkeyPatch, minutes: float, make: Any) -> str:
    now = time.time()
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: now - minutes * 60)
        header: str = make()
    return header


def goes_to(response: Any, path: str) -> None:
    assert response.status_code in (302, 303), response.get_body()
    assert response.headers["Location"].endswith(path), response.headers["Location"]


# -- the e-mail link again -----------------------------------------------------------------------------


def test_the_link_again_while_signed_in_goes_to_the_company_page_without_b2c(app: Services) -> None:
    invitation_id, anna = accepted(app)
    goes_to(link(invitation_id, cookie(session_cookie(invitation_id, anna))), "/api/CreateCompany")


def test_the_link_after_completion_goes_to_welcome_or_the_portals_sign_in(app: Services) -> None:
    invitation_id, anna = completed(app)
    goes_to(link(invitation_id, cookie(session_cookie(invitation_id, anna))), "/api/Welcome")
    html = page(link(invitation_id), 200)  # another browser, or the session is gone
    assert 'data-kind="invitation-completed"' in html
    assert f'href="{get_settings().portal_url}"' in html and "/api/Welcome" not in html


def test_the_link_with_prompt_login_ignores_the_session(app: Services) -> None:
    invitation_id, anna = accepted(app)
    headers = cookie(session_cookie(invitation_id, anna))
    response = call(
        open_invitation_link,
        request("GET", "/api/InviteUser", params={"invitationId": invitation_id, "prompt": "login"}, headers=headers),
    )
    assert response.status_code == 503, "straight to B2C (down here), not the company page"


# -- the sign-in answer --------------------------------------------------------------------------------


def test_an_answer_to_a_flow_another_tab_replaced_resumes_with_a_fresh_sign_in(app: Services) -> None:
    invitation_id, _ = invitation(app)
    goes_to(callback(cookie(sign_in_cookie(invitation_id, FLOW)), state="another-tabs-state"), f"?invitationId={invitation_id}")


def test_an_answer_after_the_other_tab_finished_goes_to_the_company_page(app: Services) -> None:
    invitation_id, anna = accepted(app)
    goes_to(callback(cookie(session_cookie(invitation_id, anna))), "/api/CreateCompany")


def test_an_answer_after_its_flow_expired_resumes_with_a_fresh_sign_in(app: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    invitation_id, _ = invitation(app)
    late = sealed_minutes_ago(monkeypatch, SIGN_IN_MAX_AGE_SECONDS / 60 + 1, lambda: sign_in_cookie(invitation_id, FLOW))
    goes_to(callback(cookie(late)), f"?invitationId={invitation_id}")


def test_the_slowest_realistic_sign_up_is_redeemed(app: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    invitation_id, _ = invitation(app)
    slow = sealed_minutes_ago(monkeypatch, 20, lambda: sign_in_cookie(invitation_id, FLOW))
    # Redeemed: B2C is asked for the token (down here: the sign-in-unavailable page), not refused as too old.
    assert 'data-kind="sign-in-unavailable"' in page(callback(cookie(slow)), 503)


def test_an_answer_after_completion_goes_to_the_welcome_page(app: Services) -> None:
    invitation_id, anna = completed(app)
    goes_to(callback(cookie(session_cookie(invitation_id, anna))), "/api/Welcome")


# -- the company page ------------------------------------------------------------------------------------


def test_an_ended_session_signs_in_again_and_a_post_keeps_what_was_typed(app: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    invitation_id, anna = accepted(app)
    ended = sealed_minutes_ago(monkeypatch, get_settings().session_max_age_seconds / 60 + 1, lambda: session_cookie(invitation_id, anna))
    goes_to(call(company_page, request("GET", "/api/CreateCompany", headers=cookie(ended))), f"?invitationId={invitation_id}")
    posted = call(create_company, form_post(ended))
    html = page(posted, 401)
    assert 'data-kind="session-expired"' in html and "Contoso Robotics AG" in html and "Bahnhofstrasse 1" in html
    assert f"?invitationId={invitation_id}" in html, "its button signs in again"


def test_a_revoke_while_editing_shows_what_was_typed_and_how_to_send_it(app: Services) -> None:
    invitation_id, anna = accepted(
        app, inviter={"name": "Marco Rossi", "organisation": "rConnect Service", "email": "marco@rconnect.example"}
    )
    session = session_cookie(invitation_id, anna)
    app.invitations.revoke(invitation_id, "t")
    html = page(call(create_company, form_post(session)), 410)
    assert 'data-kind="invitation-revoked"' in html and 'id="draft"' in html and "Contoso Robotics AG" in html
    mailto = html.split('id="send-draft" href="', 1)[1].split('"', 1)[0]
    assert mailto.startswith("mailto:marco@rconnect.example?") and "Contoso Robotics AG" in unquote(mailto)
    assert "write to Marco Rossi" in html, "the inviter is the contact"


def form_post(set_cookie: str) -> Any:
    body = "&".join(f"{name}={value}" for name, value in {**FIELDS, "csrf_token": "x"}.items()).encode()
    headers = {**cookie(set_cookie), "Content-Type": "application/x-www-form-urlencoded"}
    return request("POST", "/api/CreateCompany", headers=headers, body=body)


# -- the identity platform's errors ----------------------------------------------------------------------


def test_the_admins_decline_is_a_sentence_with_the_code_in_details(app: Services) -> None:
    invitation_id, _ = invitation(app)
    params = {
        "state": seal(ConsentState(invitation_id=invitation_id, tenant="contoso.example")),
        "error": "access_denied",
        "error_description": "AADSTS65004: User declined to consent to access the app.",
    }
    html = page(call(admin_consent_callback, request("GET", "/api/AdminConsent/callback", params=params)), 200)
    text = html.split('id="message-text">', 1)[1].split("</p>", 1)[0]
    assert "declined to approve" in text and "AADSTS" not in text
    assert "<details" in html and "AADSTS65004: User declined to consent" in html
