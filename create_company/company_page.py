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
from web.cookies import InviteeSession, invitee_session
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


def _signed_in(req: func.HttpRequest) -> tuple[InviteeSession, Versioned] | func.HttpResponse:
    """The session and its invitation (with the ETag) if the company page is the right place, else where to go."""
    session = invitee_session(req)
    if session is None:
        return message_response("session-expired", request_language(req), 401)
    access = services().companies.access(session.invitation_id, session.user)
    if access.finished_url:
        return redirect(access.finished_url, status=303)
    if access.blocked:
        return blocked_invitation_response(access.blocked, access.invitation)
    if access.loaded is None:
        return message_response("session-expired", access.invitation.language, 401)
    return session, access.loaded


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
    )
    # The POST is answered with a redirect to the portal or the invitation's redirectUrl.
    finished = app.companies.finished_url(invitation)
    return html_response(html, status=status, nonce=nonce, form_redirect_url=finished)


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
    signed_in = _signed_in(req)
    if isinstance(signed_in, func.HttpResponse):
        return signed_in
    session, loaded = signed_in
    language = loaded.invitation.language
    if len(req.get_body()) > MAX_BODY_BYTES:
        return message_response("bad-request", language, 413)
    submitted = {key: req.form.get(key, "") for key in (*company_form.FIELD_NAMES, "csrf_token")}
    if not hmac.compare_digest(submitted.pop("csrf_token").encode(), session.csrf_token.encode()):
        return message_response("csrf", language, 403, action_url=services().links.company_page())
    form, errors = company_form.validate(submitted)
    if form is None:
        return _form_page(loaded, session, submitted, errors, 422)
    companies = services().companies
    try:
        completed = companies.complete(loaded, form, session.user)
    except Conflict:
        # Staff revoked or reset it since the page was read: answer as the page now would
        # (or, if only busy writers were in the way, try once more from a fresh read).
        again = _signed_in(req)
        if isinstance(again, func.HttpResponse):
            return again
        completed = companies.complete(again[1], form, session.user)
    # 303: the browser follows with a GET, so reload or back never re-posts the form.
    return redirect(companies.finished_url(completed), status=303)
