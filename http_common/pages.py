"""HTML responses for people in a browser: security headers, redirects, message pages."""

import functools
import logging
import re
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

import azure.functions as func

from shared.i18n import best_language
from shared.models import Invitation
from shared.pages import blocked_invitation_page, message_page

log = logging.getLogger(__name__)


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def html_response(
    html: str,
    *,
    status: int = 200,
    nonce: str = "",
    set_cookie: str | None = None,
    form_redirect_url: str | None = None,
) -> func.HttpResponse:
    """form_redirect_url: where the page's form submission may be redirected; browsers apply
    form-action to every redirect of a submission, so that origin must be allowed too."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    form_action = "'self'"
    target = urlsplit(form_redirect_url or "")
    origin = f"{target.hostname or ''}{f':{target.port}' if target.port else ''}"
    if target.scheme in ("http", "https") and re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]+)?", origin):
        form_action += f" {target.scheme}://{origin}"
    headers = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src {script}; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    if set_cookie:
        headers["Set-Cookie"] = set_cookie
    return func.HttpResponse(html, status_code=status, mimetype="text/html", charset="utf-8", headers=headers)


def redirect(location: str, *, status: int = 302, set_cookie: str | None = None) -> func.HttpResponse:
    headers = {"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if set_cookie:
        headers["Set-Cookie"] = set_cookie
    return func.HttpResponse(status_code=status, headers=headers)


def blocked_invitation_response(kind: str, invitation: Invitation) -> func.HttpResponse:
    html, status = blocked_invitation_page(kind, invitation)
    return html_response(html, status=status)


def page_errors(handler: Callable[[func.HttpRequest], func.HttpResponse]) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """An unexpected error becomes a readable page in the visitor's language, never a trace."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except Exception:
            log.exception("Unhandled error in %s", handler.__name__)
            language = best_language(req.headers.get("accept-language"))
            return html_response(message_page("internal", language), status=500)

    return wrapper
