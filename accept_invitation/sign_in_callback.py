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
from shared.composition import services
from shared.domain.errors import SignInFailed, Unavailable
from shared.domain.models import Invitation
from shared.domain.sign_in_failures import failure_kind, provider_error_code
from shared.log_context import invitation_context
from shared.presentation.pages import provider_error_reason
from shared.services.sign_in import SignInOutcome
from shared.settings import get_settings
from web.client_budget import anonymous_budget
from web.cookies import (
    cleared_cookie,
    ended_session_invitation,
    held_sign_in,
    held_sign_in_cookie,
    invitee_session,
    pending_sign_in,
    session_cookie,
)
from web.pages import blocked_invitation_response, message_response, page_errors, redirect, request_language, resume_response

log = logging.getLogger(__name__)


@bp.route(route=routes.SIGN_IN_CALLBACK, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@page_errors
@anonymous_budget
def sign_in_callback(req: func.HttpRequest) -> func.HttpResponse:
    held = held_sign_in(req)
    if held is not None:
        # Storage unreadable again: page_errors' 503, and the cookie stays for the next retry.
        with invitation_context(held.invitation_id):
            return _answer(services().sign_in.resume(held.invitation_id, held.user))
    pending, session = pending_sign_in(req), invitee_session(req)
    app = services()
    invitation_id: str | None
    if pending is not None:
        invitation_id = pending.progress.invitation_id
        state = req.params.get("state", "")
        matches = bool(state) and hmac.compare_digest(pending.progress.state.encode(), state.encode())
        if app.invitations.answer_redeemable(state_matches=matches, started_at=pending.started_at):
            # The callback's URL names no invitation: its log records take it from the cookie (sealed by the app).
            with invitation_context(invitation_id):
                return _answer(app.sign_in.finish(pending.progress.flow, invitation_id, dict(req.params)))
    elif session is not None:
        invitation_id = session.invitation_id  # another tab finished first: its session replaced this sign-in
    else:
        invitation_id = ended_session_invitation(req)
    if invitation_id is None:
        # This browser holds nothing of ours (cookies blocked or cleared, another browser): only the e-mail link can tell.
        return message_response("sign-in-lost", request_language(req), 400)
    # An answer to a flow another tab replaced, that came too late, or after a session: resume, never refuse.
    with invitation_context(invitation_id):
        invitation = app.invitations.get(invitation_id)
        signed_in = session.user if session and session.invitation_id == invitation_id else None
        step = app.invitations.resume_step(invitation, signed_in)
        log.info("Sign-in callback not redeemed (stale, replaced or after a session): resuming at %s", step)
        return resume_response(step, invitation)


def _answer(outcome: SignInOutcome) -> func.HttpResponse:
    response = _outcome_page(outcome)
    if outcome.kind not in ("accepted", "held"):  # those set their own cookie
        response.headers["Set-Cookie"] = cleared_cookie()  # B2C answered this flow: it is spent
    log.info("Sign-in callback: %s, answered %s", outcome.kind, response.status_code)
    return response


def _outcome_page(outcome: SignInOutcome) -> func.HttpResponse:
    invitation = outcome.invitation
    language = invitation.language
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
        case "used":  # B2C redeemed this answer before (a reload, a double delivery): sign in afresh
            return resume_response("sign-in", invitation)
        case "unavailable":
            return sign_in_unavailable(invitation, Unavailable("The identity platform cannot be reached"))
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
                invitation=invitation,
                signed_in=outcome.user.email,
                invited=invitation.invitee.email,
            )
        case "blocked":
            assert outcome.blocked is not None
            return blocked_invitation_response(outcome.blocked, invitation)
        case "taken":
            inviter = invitation.inviter
            return message_response(
                "invitation-taken", language, 409, invitation=invitation, inviter=inviter.name, organisation=inviter.organisation
            )


def _sign_in_failed_page(failure: SignInFailed, invitation: Invitation) -> func.HttpResponse:
    language, retry = invitation.language, invitation.invite_redeem_url
    description = failure.description or failure.error
    code = provider_error_code(description)
    kind = failure_kind(get_settings().identity_platform, description)  # each platform's codes: shared/adapters/identity.py
    if kind == "cancelled":
        return message_response("sign-in-cancelled", language, 200, action_url=retry, invitation=invitation)
    if kind == "forgot-password":
        return message_response("forgot-password", language, 200, action_url=sign_in_again_url(invitation), invitation=invitation)
    if kind == "consent-required":
        help_url = services().links.admin_consent_help(invitation.id)
        return message_response("consent-required", language, 403, action_url=help_url, invitation=invitation)
    # A sentence in the invitee's language; the provider's own first line stays in "details" for support.
    first_line = description.splitlines()[0] if description else failure.error
    return message_response(
        "sign-in-failed",
        language,
        400,
        action_url=retry,
        invitation=invitation,
        details=first_line,
        reason=provider_error_reason(code, language),
    )
