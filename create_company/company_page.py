"""GET and POST /api/CreateCompany: the form, and CREATE COMPANY."""

from __future__ import annotations

import hmac

import azure.functions as func

from create_company.blueprint import bp
from shared import routes
from shared.composition import services
from shared.domain.errors import Conflict
from shared.domain.models import CONTROL_CHARACTERS
from shared.presentation import company_form
from shared.presentation.countries import country_choices
from shared.presentation.pages import company_account_label, page
from shared.services.ports import Versioned
from web.client_budget import anonymous_budget
from web.cookies import InviteeSession, ended_session_invitation, invitee_session
from web.pages import (
    blocked_invitation_response,
    html_response,
    message_response,
    new_nonce,
    page_errors,
    redirect,
    request_language,
)
from web.problems import MAX_BODY_BYTES

ANONYMOUS = func.AuthLevel.ANONYMOUS


def _signed_in(req: func.HttpRequest, draft: dict[str, str] | None = None) -> tuple[InviteeSession, Versioned] | func.HttpResponse:
    """The session and its invitation (with the ETag) if the company page is the right place, else where
    to go; `draft`, the form a POST carried, is shown on a page that ends the journey here, never lost."""
    app = services()
    session = invitee_session(req)
    if session is None:
        return _session_ended(req, draft)
    access = app.companies.access(session.invitation_id, session.user)
    if access.finished_url:
        return redirect(access.finished_url, status=303)
    if access.blocked:
        return blocked_invitation_response(access.blocked, access.invitation, draft=draft)
    if access.loaded is None:
        return message_response(
            "session-expired",
            access.invitation.language,
            401,
            action_url=access.invitation.invite_redeem_url,
            invitation=access.invitation,
            draft=draft,
        )
    return session, access.loaded


def _session_ended(req: func.HttpRequest, draft: dict[str, str] | None) -> func.HttpResponse:
    """A fresh sign-in (B2C's session makes it one click or none) brings the invitee back here, where
    the page's own draft (kept in the browser) restores what was typed; a POST's data is also shown."""
    invitation_id = ended_session_invitation(req)
    if invitation_id is None:
        return message_response("session-expired", request_language(req), 401, draft=draft)
    invitation = services().invitations.get(invitation_id)
    if draft is None:
        return redirect(invitation.invite_redeem_url, status=303)
    return message_response(
        "session-expired", invitation.language, 401, action_url=invitation.invite_redeem_url, invitation=invitation, draft=draft
    )


def _form_page(loaded: Versioned, session: InviteeSession, values: dict[str, str], errors: set[str], status: int) -> func.HttpResponse:
    invitation, user, nonce = loaded.invitation, session.user, new_nonce()
    app = services()
    html = page(
        "company.html",
        invitation.language,
        fields=company_form.FIELDS,
        # A refused control character is shown as U+FFFD: visible, and never raw in the page.
        values={name: CONTROL_CHARACTERS.sub("\ufffd", value) for name, value in values.items()},
        errors=errors,
        countries=country_choices(invitation.language),
        email=user.email,
        inviter=invitation.inviter.name,
        organisation=invitation.inviter.organisation,
        account_label=company_account_label(invitation.language, user.account_type, user.identity_provider),
        csrf_token=session.csrf_token,
        action=app.links.company_page(),
        nonce=nonce,
        draft_key=f"rconnect-draft:{invitation.id}",
        # Typed values live in the browser too (localStorage, per invitation) until the welcome page:
        # a reload, Back, a new tab or a fresh sign-in restores them; a refused POST shows its own.
        restore_draft=status == 200,
    )
    return html_response(html, status=status, nonce=nonce)


@bp.route(route=routes.CREATE_COMPANY, methods=["GET"], auth_level=ANONYMOUS)
@page_errors
@anonymous_budget
def company_page(req: func.HttpRequest) -> func.HttpResponse:
    signed_in = _signed_in(req)
    if isinstance(signed_in, func.HttpResponse):
        return signed_in
    session, loaded = signed_in
    return _form_page(loaded, session, company_form.initial_values(loaded.invitation, session.user), set(), 200)


@bp.route(route=routes.CREATE_COMPANY, methods=["POST"], auth_level=ANONYMOUS)
@page_errors
@anonymous_budget
def create_company(req: func.HttpRequest) -> func.HttpResponse:
    if len(req.get_body()) > MAX_BODY_BYTES:
        return message_response("bad-request", request_language(req), 413)
    submitted = {key: req.form.get(key, "") for key in (*company_form.FIELD_NAMES, "csrf_token")}
    signed_in = _signed_in(req, draft={name: submitted[name] for name in company_form.FIELD_NAMES})
    if isinstance(signed_in, func.HttpResponse):
        return signed_in
    session, loaded = signed_in
    language = loaded.invitation.language
    if not hmac.compare_digest(submitted.pop("csrf_token").encode(), session.csrf_token.encode()):
        return message_response("csrf", language, 403, action_url=services().links.company_page())
    form, errors = company_form.validate(submitted)
    if form is None:
        return _form_page(loaded, session, submitted, errors, 422)
    companies = services().companies
    try:
        companies.complete(loaded, form, session.user)
    except Conflict:
        # Staff revoked or reset it since the page was read: answer as the page now would
        # (or, if only busy writers were in the way, try once more from a fresh read).
        again = _signed_in(req, draft=submitted)
        if isinstance(again, func.HttpResponse):
            return again
        companies.complete(again[1], form, session.user)
    # 303: the browser follows with a GET, so reload or back never re-posts the form.
    return redirect(services().links.welcome(), status=303)
