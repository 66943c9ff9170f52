"""The invitee's session cookie: signed, HttpOnly, Secure, SameSite=Lax, scoped to /api."""

from http.cookies import CookieError, SimpleCookie

import azure.functions as func

from shared.sessions import COOKIE_NAME


def read_session_cookie(req: func.HttpRequest) -> str | None:
    cookies = SimpleCookie()
    try:
        cookies.load(req.headers.get("cookie", ""))
    except CookieError:
        return None
    morsel = cookies.get(COOKIE_NAME)
    return morsel.value if morsel else None


def session_cookie_header(value: str, max_age: int) -> str:
    # Secure holds on http://localhost too: browsers treat localhost as a secure context.
    return f"{COOKIE_NAME}={value}; Max-Age={max_age}; Path=/api; HttpOnly; Secure; SameSite=Lax"
