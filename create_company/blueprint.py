"""The company page: the signed-in invitee checks sales' data and presses CREATE COMPANY."""

import hmac

import azure.functions as func

from http_common.api import MAX_BODY_BYTES
from http_common.cookies import read_session_cookie
from http_common.pages import (
    blocked_invitation_response,
    html_response,
    new_nonce,
    page_errors,
    redirect,
)
from shared import companies, company_form, invitations
from shared.countries import country_choices
from shared.i18n import best_language, catalog
from shared.models import Invitation, InvitationStatus
from shared.pages import CATALOG, message_page, page
from shared.sessions import InviteeSession, session_max_age, unseal
from shared.settings import get_settings

bp = func.Blueprint()
ANONYMOUS = func.AuthLevel.ANONYMOUS


def _session(req: func.HttpRequest) -> InviteeSession | None:
    return unseal(read_session_cookie(req), InviteeSession, session_max_age())


def _finished_url(invitation: Invitation) -> str:
    return invitation.redirect_url or get_settings().welcome_url


def _signed_in(req: func.HttpRequest) -> tuple[InviteeSession, Invitation] | func.HttpResponse:
    """The session and its invitation if the company page is the right place, else where to go."""
    session = _session(req)
    if session is None:
        language = best_language(req.headers.get("accept-language"))
        return html_response(message_page("session-expired", language), status=401)
    invitation = invitations.get(session.invitation_id)
    status = invitation.effective_status_now()
    if status == InvitationStatus.COMPLETED:
        return redirect(_finished_url(invitation), status=303)
    if kind := invitations.redemption_block(invitation):
        return blocked_invitation_response(kind, invitation)
    accepted_by = invitation.accepted_by
    if status != InvitationStatus.ACCEPTED or accepted_by is None or accepted_by.object_id != session.user.object_id:
        return html_response(message_page("session-expired", invitation.language), status=401)
    return session, invitation


def _form_page(
    invitation: Invitation, session: InviteeSession, values: dict[str, str], errors: set[str], status: int
) -> func.HttpResponse:
    nonce = new_nonce()
    user = session.user
    t = catalog(CATALOG, invitation.language)
    account_label = t[f"company.account.{user.account_type}"].format(provider=user.identity_provider or "")
    html = page(
        "company.html",
        invitation.language,
        fields=company_form.FIELDS,
        values=values,
        errors=errors,
        countries=country_choices(invitation.language),
        email=user.email,
        inviter=invitation.inviter.name,
        organisation=invitation.inviter.organisation,
        account_label=account_label,
        csrf_token=session.csrf_token,
        action=f"{get_settings().base_url}/api/CreateCompany",
        nonce=nonce,
    )
    # The POST is answered with a redirect to the portal or the invitation's redirectUrl.
    return html_response(html, status=status, nonce=nonce, form_redirect_url=_finished_url(invitation))


@bp.route(route="CreateCompany", methods=["GET"], auth_level=ANONYMOUS)
@page_errors
def company_page(req: func.HttpRequest) -> func.HttpResponse:
    signed_in = _signed_in(req)
    if isinstance(signed_in, func.HttpResponse):
        return signed_in
    session, invitation = signed_in
    return _form_page(invitation, session, company_form.initial_values(invitation, session.user), set(), 200)


@bp.route(route="CreateCompany", methods=["POST"], auth_level=ANONYMOUS)
@page_errors
def create_company(req: func.HttpRequest) -> func.HttpResponse:
    signed_in = _signed_in(req)
    if isinstance(signed_in, func.HttpResponse):
        return signed_in
    session, invitation = signed_in
    if len(req.get_body()) > MAX_BODY_BYTES:
        return html_response(message_page("bad-request", invitation.language), status=413)
    submitted = {key: req.form.get(key, "") for key in (*company_form.FIELD_NAMES, "csrf_token")}
    if not hmac.compare_digest(submitted.pop("csrf_token").encode(), session.csrf_token.encode()):
        retry = f"{get_settings().base_url}/api/CreateCompany"
        return html_response(message_page("csrf", invitation.language, action_url=retry), status=403)
    form, errors = company_form.validate(submitted)
    if form is None:
        return _form_page(invitation, session, submitted, errors, 422)
    completed = companies.create_from_invitation(invitation, form, session.user)
    # 303: the browser follows with a GET, so reload or back never re-posts the form.
    return redirect(_finished_url(completed), status=303)


@bp.route(route="Welcome", methods=["GET"], auth_level=ANONYMOUS)
@page_errors
def welcome(req: func.HttpRequest) -> func.HttpResponse:
    """Stand-in for the My rConnect portal's landing page when PORTAL_URL is not set."""
    session = _session(req)
    invitation = invitations.get(session.invitation_id) if session else None
    company = companies.get(invitation.company_id) if invitation and invitation.company_id else None
    language = invitation.language if invitation else best_language(req.headers.get("accept-language"))
    return html_response(page("welcome.html", language, company=company.data.name if company else None))
