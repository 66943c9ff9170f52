"""The invitee's session as a red team tries it (issue 9), against the real stack: the cookie
cannot be read without SESSION_SECRET, nor altered; the sign-in flows kept server-side are
bounded per invitation and removed by a timer once expired.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from azure.data.tables import UpdateMode

from scripts.stack import LocalStack
from tests.storage import Stored
from tests.support import Api
from tests.test_invitee_pages import Invitee, assert_html_page, page_kind, session_cookie, title_of

MAX_OPEN_SIGN_INS = 5  # per invitation; README "Sessions"


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
    state = parse_qs(urlparse(started.headers["Location"]).query)["state"][0]
    callback = invitee.at_idp(started.headers["Location"])
    response = invitee.get(callback, cookie=sign_in_cookie)
    assert response.status_code == 302
    session = invitee.cookie = session_cookie(response) or ""
    user = stored.invitation(invitee.id)["data"]["accepted_by"]
    csrf = invitee.company_form()["csrf_token"]
    secrets_in_sign_in = [state, invitee.id]
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


# -- sign-in flows kept server-side ----------------------------------------------------------------


def flows_of(stored: Stored, invitation_id: str) -> list[dict[str, Any]]:
    return list(stored.table("AuthFlows").query_entities("InvitationId eq @id", parameters={"id": invitation_id}))


def test_open_sign_ins_per_invitation_are_bounded_and_the_newest_works(stack: LocalStack, api: Api, stored: Stored) -> None:
    invitee = Invitee(stack, api.invite())
    attempts = []
    for _ in range(MAX_OPEN_SIGN_INS * 3):
        started = invitee.start()
        assert started.status_code == 302, started.text[:2000]
        attempts.append((invitee.cookie, started.headers["Location"]))
    assert len(flows_of(stored, invitee.id)) <= MAX_OPEN_SIGN_INS
    oldest_cookie, oldest_authorize = attempts[0]
    oldest = invitee.get(invitee.at_idp(oldest_authorize), cookie=oldest_cookie)
    assert_html_page(oldest, 400)
    assert page_kind(oldest) == "sign-in-used"
    newest_cookie, newest_authorize = attempts[-1]
    newest = invitee.get(invitee.at_idp(newest_authorize), cookie=newest_cookie)
    assert newest.status_code == 302 and newest.headers["Location"].endswith("/api/CreateCompany"), newest.text[:2000]
    # Another invitation's sign-ins are not counted against this one.
    assert Invitee(stack, api.invite()).start().status_code == 302


def test_expired_sign_in_flows_are_removed_by_the_timer(stack: LocalStack, api: Api, stored: Stored) -> None:
    """The session's stack runs the cleanup timer every 2 s (conftest.py); in Azure every 10 minutes."""
    expired, current = Invitee(stack, api.invite()), Invitee(stack, api.invite())
    assert expired.start().status_code == 302 and current.start().status_code == 302
    table = stored.table("AuthFlows")
    for row in flows_of(stored, expired.id):
        table.update_entity({**row, "ExpiresAt": datetime.now(UTC) - timedelta(minutes=1)}, mode=UpdateMode.MERGE)
    deadline = time.monotonic() + 30
    while flows_of(stored, expired.id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert flows_of(stored, expired.id) == []
    assert len(flows_of(stored, current.id)) == 1
