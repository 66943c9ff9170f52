"""The invitee's session as a red team tries it (issue 9), against the real stack: the cookie
cannot be read without SESSION_SECRET, nor altered; the sign-in's flow travels in it, so
opening the link stores nothing, however often.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from urllib.parse import parse_qs, urlparse

from tests.storage import Stored
from tests.support import Api
from tests.test_invitee_pages import Invitee, assert_html_page, session_cookie, title_of
from tools.localstack.stack import LocalStack


def readable_forms(token: str) -> list[bytes]:
    """Every decoding an attacker without the secret would try on the cookie and its parts."""
    found = [token.encode()]
    for part in re.split(r"[.!:|]", token):
        for decoder in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                raw = decoder(part + "=" * (-len(part) % 4))
            except (binascii.Error, ValueError):
                continue
            found.append(raw)
            try:
                found.append(zlib.decompress(raw))
            except zlib.error:
                pass
    return found


def test_the_session_cookie_is_unreadable_without_the_secret(stack: LocalStack, api: Api, stored: Stored) -> None:
    invitee = Invitee(stack, api.invite())
    started = invitee.start()
    sign_in_cookie = invitee.cookie or ""
    authorize = parse_qs(urlparse(started.headers["Location"]).query)
    state, nonce = authorize["state"][0], authorize["nonce"][0]
    callback = invitee.at_idp(started.headers["Location"])
    response = invitee.get(callback, cookie=sign_in_cookie)
    assert response.status_code == 302
    session = invitee.cookie = session_cookie(response) or ""
    user = stored.invitation(invitee.id)["data"]["accepted_by"]
    csrf = invitee.company_form()["csrf_token"]
    secrets_in_sign_in = [state, invitee.id, nonce]
    secrets_in_session = [invitee.email, user["object_id"], csrf, invitee.id, user["name"]]
    for form in readable_forms(sign_in_cookie):
        for secret in secrets_in_sign_in:
            assert secret.encode() not in form, f"the sign-in cookie reveals {secret!r}"
    for form in readable_forms(session):
        for secret in secrets_in_session:
            assert secret.encode() not in form, f"the session cookie reveals {secret!r}"


def test_a_tampered_session_cookie_is_no_session(stack: LocalStack, api: Api) -> None:
    invitee = Invitee(stack, api.invite())
    assert invitee.sign_in().status_code == 302
    genuine = invitee.cookie or ""
    for position in (0, len(genuine) // 2, len(genuine) - 1):
        flipped = genuine[:position] + ("A" if genuine[position] != "A" else "B") + genuine[position + 1 :]
        response = invitee.get("/api/CreateCompany", cookie=flipped)
        assert_html_page(response, 401)
        assert title_of(response) == "Your session has ended"
    assert invitee.company_page().status_code == 200


# -- the sign-in's flow in the cookie ---------------------------------------------------------------


def test_opening_the_link_again_and_again_stores_nothing_and_the_newest_sign_in_works(stack: LocalStack, api: Api, stored: Stored) -> None:
    invitee = Invitee(stack, api.invite())
    actions = stored.actions(invitee.id)
    tables = sorted(table.name for table in stored.tables.list_tables())
    attempts = []
    for _ in range(15):
        started = invitee.start()
        assert started.status_code == 302, started.text[:2000]
        attempts.append((invitee.cookie, started.headers["Location"]))
        if len(attempts) == 1:  # the first open is recorded once (the onboarding funnel's "link opened")
            after_first = stored.invitation(invitee.id), stored.actions(invitee.id)
            assert after_first[1] == [*actions, "link-opened"]
    assert (stored.invitation(invitee.id), stored.actions(invitee.id)) == after_first
    assert sorted(table.name for table in stored.tables.list_tables()) == tables
    # Each attempt's own cookie redeems its own answer (the browser only keeps the newest).
    newest_cookie, newest_authorize = attempts[-1]
    newest = invitee.get(invitee.at_idp(newest_authorize), cookie=newest_cookie)
    assert newest.status_code == 302 and newest.headers["Location"].endswith("/api/CreateCompany"), newest.text[:2000]
    # The newest cookie with the oldest attempt's answer: another state, not redeemed; a fresh sign-in resumes.
    oldest_cookie, oldest_authorize = attempts[0]
    assert oldest_cookie != newest_cookie
    stale = invitee.get(invitee.at_idp(oldest_authorize), cookie=newest_cookie)
    assert stale.status_code == 303 and stale.headers["Location"] == invitee.invitation["inviteRedeemUrl"]
