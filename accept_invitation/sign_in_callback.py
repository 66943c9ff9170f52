"""GET /api/InviteUser/callback: B2C's redirect; the page for each outcome of the sign-in.

The same URL without B2C's answer, with a held sign-in's cookie (storage failed after B2C had
spent the code), is the held page's retry: it accepts for the user kept in the cookie."""

from __future__ import annotations

import hmac
import logging

import azure.functions as func

from accept_invitation.blueprint import bp
from accept_invitation.invitation_pages import sign_in_again_url, sign_in_unavailable
from shared import routes
from shared.adapters.identity import provider_error_code
from shared.composition import services
from shared.domain.errors import SignInFailed, Unavailable
from shared.domain.models import Invitation
from shared.log_context import invitation_context
from shared.services.sign_in import SignInOutcome
from web.client_budget import anonymous_budget
from web.cookies import cleared_cookie, held_sign_in, held_sign_in_cookie, pending_sign_in, session_cookie
from web.pages import blocked_invitation_response, message_response, page_errors, redirect, request_language

log = logging.getLogger(__name__)

# B2C / Entra ID error codes that deserve their own page
_CANCELLED, _FORGOT_PASSWORD = "AADB2C90091", "AADB2C90118"
_CONSENT_CODES = frozenset({"AADSTS65001", "AADSTS90094", "AADSTS90008"})


@bp.route(route=routes.SIGN_IN_CALLBACK, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@page_errors
@anonymous_budget
def sign_in_callback(req: func.HttpRequest) -> func.HttpResponse:
    held = held_sign_in(req)
    if held is not None:
        # Storage unreadable again: page_errors' 503, and the cookie stays for the next retry.
        with invitation_context(held.invitation_id):
            return _answer(services().sign_in.resume(held.invitation_id, held.user))
    pending = pending_sign_in(req)
    if pending is None:
        # No sign-in of this browser is waiting (no cookie, expired, altered or not ours).
        return message_response("sign-in-used", request_language(req), 400)
    state = req.params.get("state", "")
    if not state or not hmac.compare_digest(pending.state.encode(), state.encode()):
        # The answer to another sign-in: the link opened again meanwhile (another tab) replaced its
        # cookie, or a forged answer. The cookie's own sign-in stays usable; its link starts afresh.
        return message_response("sign-in-used", request_language(req), 400, action_url=services().links.redeem(pending.invitation_id))
    # The callback's URL names no invitation: its log records take it from the cookie (sealed by the app).
    with invitation_context(pending.invitation_id):
        return _answer(services().sign_in.finish(pending.flow, pending.invitation_id, dict(req.params)))


def _answer(outcome: SignInOutcome) -> func.HttpResponse:
    response = _outcome_page(outcome)
    if outcome.kind not in ("accepted", "held"):  # those set their own cookie
        response.headers["Set-Cookie"] = cleared_cookie()  # B2C answered this flow: it is spent
    log.info("Sign-in callback: %s, answered %s", outcome.kind, response.status_code)
    return response


def _outcome_page(outcome: SignInOutcome) -> func.HttpResponse:
    invitation = outcome.invitation
    language, retry = invitation.language, invitation.invite_redeem_url
    match outcome.kind:
        case "accepted":
            assert outcome.user is not None
            return redirect(services().links.company_page(), set_cookie=session_cookie(invitation.id, outcome.user))
        case "held":
            assert outcome.user is not None
            response = message_response(
                "sign-in-kept", language, 503, action_url=services().links.sign_in_callback(), retry_after=Unavailable.retry_after_seconds
            )
            response.headers["Set-Cookie"] = held_sign_in_cookie(invitation.id, outcome.user)
            return response
        case "used":
            return message_response("sign-in-used", language, 400, action_url=retry)
        case "unavailable":
            return sign_in_unavailable(invitation, Unavailable("B2C cannot be reached"))
        case "failed":
            assert outcome.failure is not None
            return _sign_in_failed_page(outcome.failure, invitation)
        case "wrong-account":
            assert outcome.user is not None
            return message_response(
                "wrong-account",
                language,
                403,
                action_url=sign_in_again_url(invitation),
                signed_in=outcome.user.email,
                invited=invitation.invitee.email,
            )
        case "blocked":
            assert outcome.blocked is not None
            return blocked_invitation_response(outcome.blocked, invitation)
        case "taken":
            inviter = invitation.inviter
            return message_response("invitation-taken", language, 409, inviter=inviter.name, organisation=inviter.organisation)


def _sign_in_failed_page(failure: SignInFailed, invitation: Invitation) -> func.HttpResponse:
    language, retry = invitation.language, invitation.invite_redeem_url
    description = failure.description or failure.error
    code = provider_error_code(description)
    if code == _CANCELLED:
        return message_response("sign-in-cancelled", language, 200, action_url=retry)
    if code == _FORGOT_PASSWORD:
        return message_response("forgot-password", language, 200, action_url=sign_in_again_url(invitation))
    if code in _CONSENT_CODES:
        help_url = services().links.admin_consent_help(invitation.id)
        return message_response("consent-required", language, 403, action_url=help_url)
    # The description is the provider's text; the template escapes it.
    first_line = description.splitlines()[0] if description else failure.error
    return message_response("sign-in-failed", language, 400, action_url=retry, description=first_line)
