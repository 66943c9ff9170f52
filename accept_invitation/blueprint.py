"""The invitee's way in: the e-mail link, B2C sign-in and its callback, and admin consent (CASE 1)."""

import hmac
import logging

import azure.functions as func
import requests
from pydantic import BaseModel

from http_common.cookies import read_session_cookie, session_cookie_header
from http_common.pages import (
    blocked_invitation_response,
    html_response,
    page_errors,
    redirect,
)
from shared import admin_consent, identity, invitations, users
from shared.errors import Conflict, Gone, InvalidInput, NotFound
from shared.i18n import best_language
from shared.identity import SignInFailed
from shared.models import Invitation, parse_invitation_id
from shared.pages import message_page, page
from shared.sessions import (
    SIGN_IN_MAX_AGE_SECONDS,
    InviteeSession,
    SignInInProgress,
    seal,
    session_max_age,
    unseal,
)
from shared.settings import get_settings

bp = func.Blueprint()
log = logging.getLogger(__name__)
ANONYMOUS = func.AuthLevel.ANONYMOUS
# error_description prefixes from B2C / Entra ID that deserve their own page
_CANCELLED, _FORGOT_PASSWORD = "AADB2C90091", "AADB2C90118"
_CONSENT_CODES = ("AADSTS65001", "AADSTS90094", "AADSTS90008", "AADB2C90273")


class ConsentState(BaseModel):
    invitation_id: str | None


def _language(req: func.HttpRequest, invitation: Invitation | None = None) -> str:
    return invitation.language if invitation else best_language(req.headers.get("accept-language"))


def _sign_in_unavailable(invitation: Invitation, error: Exception) -> func.HttpResponse:
    log.warning("B2C unreachable: %s", error)
    html = message_page("sign-in-unavailable", invitation.language, action_url=invitation.invite_redeem_url)
    return html_response(html, status=503)


def _sign_in_again_url(invitation: Invitation) -> str:
    # prompt=login makes B2C ask for credentials instead of reusing its session.
    return invitation.invite_redeem_url + "&prompt=login"


def _load(req: func.HttpRequest, raw_id: str | None) -> Invitation | func.HttpResponse:
    """The invitation behind a link, or the page that says why there is none."""
    try:
        return invitations.get(parse_invitation_id(raw_id))
    except InvalidInput:
        return html_response(message_page("invalid-id", _language(req)), status=400)
    except NotFound:
        return html_response(message_page("not-found", _language(req)), status=404)


@bp.route(route="InviteUser", methods=["GET"], auth_level=ANONYMOUS)
@page_errors
def invite_user(req: func.HttpRequest) -> func.HttpResponse:
    """The link in the e-mail: send the invitee to B2C, or explain why not."""
    invitation = _load(req, req.params.get("invitationId"))
    if isinstance(invitation, func.HttpResponse):
        return invitation
    if kind := invitations.redemption_block(invitation):
        return blocked_invitation_response(kind, invitation)
    try:
        auth_uri, state = identity.begin(invitation, force_login=req.params.get("prompt") == "login")
    except (requests.RequestException, ValueError) as error:
        return _sign_in_unavailable(invitation, error)
    cookie = seal(SignInInProgress(state=state, invitation_id=invitation.id))
    return redirect(auth_uri, set_cookie=session_cookie_header(cookie, SIGN_IN_MAX_AGE_SECONDS))


def _sign_in_failed_page(failure: SignInFailed, invitation: Invitation) -> func.HttpResponse:
    retry = invitation.invite_redeem_url
    description = failure.description or failure.error
    if description.startswith(_CANCELLED):
        return html_response(message_page("sign-in-cancelled", invitation.language, action_url=retry))
    if description.startswith(_FORGOT_PASSWORD):
        return html_response(message_page("forgot-password", invitation.language, action_url=_sign_in_again_url(invitation)))
    if description.startswith(_CONSENT_CODES):
        help_url = invitations.admin_consent_help_url(invitation.id)
        return html_response(message_page("consent-required", invitation.language, action_url=help_url), status=403)
    # The description is the provider's text; the template escapes it.
    first_line = description.splitlines()[0] if description else failure.error
    html = message_page("sign-in-failed", invitation.language, action_url=retry, description=first_line)
    return html_response(html, status=400)


@bp.route(route="InviteUser/callback", methods=["GET"], auth_level=ANONYMOUS)
@page_errors
def sign_in_callback(req: func.HttpRequest) -> func.HttpResponse:
    """B2C's redirect: redeem the code, check who signed in, accept the invitation."""
    pending = unseal(read_session_cookie(req), SignInInProgress, SIGN_IN_MAX_AGE_SECONDS)
    state = req.params.get("state", "")
    if pending is None or not hmac.compare_digest(pending.state.encode(), state.encode()):
        # No sign-in of this browser is waiting for this answer (expired, replayed or forged).
        return html_response(message_page("sign-in-used", _language(req)), status=400)
    invitation = invitations.get(pending.invitation_id)
    try:
        invitation_id, user = identity.finish(state, dict(req.params))
    except requests.RequestException as error:
        return _sign_in_unavailable(invitation, error)
    except Gone:
        retry = invitation.invite_redeem_url
        return html_response(message_page("sign-in-used", invitation.language, action_url=retry), status=400)
    except SignInFailed as failure:
        return _sign_in_failed_page(failure, invitation)
    if not identity.email_matches(invitation, user):
        html = message_page(
            "wrong-account",
            invitation.language,
            action_url=_sign_in_again_url(invitation),
            signed_in=user.email,
            invited=invitation.invitee.email,
        )
        return html_response(html, status=403)
    users.record_sign_in(user)
    try:
        invitations.accept(invitation_id, user)
    except Conflict:
        current = invitations.get(invitation_id)
        if kind := invitations.redemption_block(current):
            return blocked_invitation_response(kind, current)
        names = {"inviter": current.inviter.name, "organisation": current.inviter.organisation}
        return html_response(message_page("invitation-taken", current.language, **names), status=409)
    session = seal(InviteeSession.start(invitation_id, user))
    return redirect(
        f"{get_settings().base_url}/api/CreateCompany",
        set_cookie=session_cookie_header(session, session_max_age()),
    )


@bp.route(route="AdminConsent", methods=["GET"], auth_level=ANONYMOUS)
@page_errors
def admin_consent_help(req: func.HttpRequest) -> func.HttpResponse:
    """CASE 1 help for the invitee's IT administrator, with their tenant's admin-consent link."""
    invitation: Invitation | None = None
    if req.params.get("invitationId"):
        loaded = _load(req, req.params.get("invitationId"))
        if isinstance(loaded, func.HttpResponse):
            return loaded
        invitation = loaded
    default_tenant = invitation.invitee.email.rsplit("@", 1)[-1] if invitation else "organizations"
    tenant = (req.params.get("tenant") or default_tenant).strip()
    tenant_ok = admin_consent.valid_tenant(tenant)
    state = seal(ConsentState(invitation_id=invitation.id if invitation else None))
    html = page(
        "admin_consent.html",
        _language(req, invitation),
        invitation_id=invitation.id if invitation else None,
        tenant=tenant,
        tenant_invalid=not tenant_ok,
        consent_url=admin_consent.consent_url(tenant, state) if tenant_ok else None,
    )
    return html_response(html, status=200 if tenant_ok else 400)


@bp.route(route="AdminConsent/callback", methods=["GET"], auth_level=ANONYMOUS)
@page_errors
def admin_consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    """Where Entra ID sends the administrator back: record the outcome and say what is next."""
    consent = unseal(req.params.get("state"), ConsentState, 7 * 24 * 3600)
    tenant = req.params.get("tenant", "")
    if consent is None or not admin_consent.valid_tenant(tenant):
        return html_response(message_page("bad-request", _language(req)), status=400)
    invitation = invitations.get(consent.invitation_id) if consent.invitation_id else None
    language = _language(req, invitation)
    granted = req.params.get("admin_consent", "").lower() == "true" and "error" not in req.params
    error = None if granted else f"{req.params.get('error', 'unknown')}: {req.params.get('error_description', '')}"
    admin_consent.record(tenant, granted, error, consent.invitation_id)
    if granted:
        next_url = invitation.invite_redeem_url if invitation else None
        return html_response(message_page("consent-granted", language, action_url=next_url, tenant=tenant))
    back = invitations.admin_consent_help_url(invitation.id) if invitation else f"{get_settings().base_url}/api/AdminConsent"
    description = req.params.get("error_description") or req.params.get("error") or ""
    return html_response(message_page("consent-declined", language, action_url=back, description=description))

