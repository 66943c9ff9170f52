"""HTML responses for people in a browser: security headers, redirects, message pages."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Mapping

import azure.functions as func

from shared.composition import services
from shared.domain.errors import Unavailable
from shared.domain.invitations import ResumeStep
from shared.domain.models import Invitation
from shared.presentation.i18n import best_language
from shared.presentation.pages import blocked_invitation_page, contact_for, message_page
from shared.settings import SettingsInvalid, get_settings
from web.problems import in_invitation_context

log = logging.getLogger(__name__)


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def html_response(html: str, *, status: int = 200, nonce: str = "", set_cookie: str | None = None) -> func.HttpResponse:
    # form-action 'self': the company form's POST is answered with a redirect to the welcome page, on this origin.
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src {script}; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    if set_cookie:
        headers["Set-Cookie"] = set_cookie
    return func.HttpResponse(html, status_code=status, mimetype="text/html", charset="utf-8", headers=headers)


def request_language(req: func.HttpRequest, invitation: Invitation | None = None) -> str:
    """The page's language: the invitation's, else the browser's Accept-Language choice."""
    return invitation.language if invitation else best_language(req.headers.get("accept-language"))


def _customer_success_link() -> str | None:
    # Settings only, and none when they are broken: this also renders the 500 and the settings-invalid 503 pages.
    try:
        return get_settings().customer_success_link
    except SettingsInvalid:
        return None


def message_response(
    kind: str,
    language: str,
    status: int,
    *,
    action_url: str | None = None,
    retry_after: int | None = None,
    invitation: Invitation | None = None,
    details: str | None = None,
    draft: Mapping[str, str] | None = None,
    **params: str,
) -> func.HttpResponse:
    """A one-message page (see shared.presentation.pages.message_page) with its status; its contact is
    the invitation's inviter when known, else customer success."""
    customer_success = _customer_success_link()
    html = message_page(
        kind,
        language,
        contact=contact_for(invitation, customer_success) if customer_success else None,
        action_url=action_url,
        details=details,
        draft=draft,
        **params,
    )
    response = html_response(html, status=status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def unavailable_response(kind: str, language: str, error: Unavailable, *, action_url: str | None = None) -> func.HttpResponse:
    """503 with Retry-After: a dependency is down, the visitor may try again shortly."""
    log.warning("Unavailable: %s", error.detail)
    return message_response(kind, language, 503, action_url=action_url, retry_after=error.retry_after_seconds)


def redirect(location: str, *, status: int = 302, set_cookie: str | None = None) -> func.HttpResponse:
    headers = {"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if set_cookie:
        headers["Set-Cookie"] = set_cookie
    return func.HttpResponse(status_code=status, headers=headers)


def blocked_invitation_response(kind: str, invitation: Invitation, *, draft: Mapping[str, str] | None = None) -> func.HttpResponse:
    """A link that can no longer be redeemed: 410, except a completed invitation (200, onward to the
    portal's sign-in); `draft`, what the invitee had typed, is shown with a way to send it on."""
    settings = services().settings
    html = blocked_invitation_page(
        kind, invitation, portal_url=str(settings.portal_url), customer_success_url=settings.customer_success_link, draft=draft
    )
    return html_response(html, status=200 if kind == "invitation-completed" else 410)


def resume_response(step: ResumeStep, invitation: Invitation) -> func.HttpResponse:
    """Send the invitee where domain.invitations.resume_step says they belong (303: a GET, whatever came before)."""
    app = services()
    match step:
        case "sign-in":
            return redirect(invitation.invite_redeem_url, status=303)
        case "company-page":
            return redirect(app.links.company_page(), status=303)
        case "finished":
            return redirect(app.links.welcome(), status=303)
        case "portal":
            return blocked_invitation_response("invitation-completed", invitation)
        case "blocked":
            kind = app.invitations.redemption_block(invitation)
            assert kind is not None
            return blocked_invitation_response(kind, invitation)


def page_errors(handler: Callable[[func.HttpRequest], func.HttpResponse]) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """A dependency down becomes a 503 page with Retry-After; any other unexpected error a readable
    500 page in the visitor's language, never a trace."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        return in_invitation_context(req, functools.partial(_answer, handler))

    return wrapper


def _answer(handler: Callable[[func.HttpRequest], func.HttpResponse], req: func.HttpRequest) -> func.HttpResponse:
    try:
        return handler(req)
    except Unavailable as error:
        # "Try again" repeats a GET as it was; after a POST it reloads the page (a GET).
        return unavailable_response("unavailable", request_language(req), error, action_url=req.url.split("#")[0])
    except Exception:
        log.exception("Unhandled error in %s", handler.__name__)
        return message_response("internal", request_language(req), 500)
