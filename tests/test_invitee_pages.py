"""The invitee's pages over plain HTTP: the e-mail link, the sign-in callback, the company page.

Everything runs against the real local stack: the dev host, Azurite and the local B2C
(oidc-provider). The sign-in at the IdP is driven with `requests` the way its login page
posts its form. Our session cookie is Secure, which `requests` will not send over http,
so the tests carry it in the Cookie header themselves.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import uuid
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import pytest
import requests

from tests.local_b2c import STRONG_PASSWORD, verification_code, verification_emails
from tests.storage import Stored
from tests.support import Outbox, tenant_guid, unique_email

COOKIE = "rconnect_session"
TIMEOUT = 30


# -- helpers ---------------------------------------------------------------------------------------


def session_cookie(response: requests.Response) -> str | None:
    """The value our app set for its session cookie, from the raw Set-Cookie header (None when it
    sets none or clears it, as the callback does with a spent sign-in)."""
    match = re.search(rf"(?:^|,\s*){COOKIE}=([^;,]*)", response.headers.get("Set-Cookie", ""))
    return (match.group(1) or None) if match else None


def cleared_cookie(response: requests.Response) -> bool:
    return re.search(rf"(?:^|,\s*){COOKIE}=;", response.headers.get("Set-Cookie", "")) is not None


def text_of(response: requests.Response) -> str:
    """The page's text with tags dropped and entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def title_of(response: requests.Response) -> str:
    match = re.search(r'<h1 id="message-title"[^>]*>(.*?)</h1>', response.text, re.S)
    assert match, f"no message title in:\n{response.text[:2000]}"
    return html.unescape(match.group(1)).strip()


def page_kind(response: requests.Response) -> str | None:
    match = re.search(r'id="message-title" data-kind="([^"]+)"', response.text)
    return match.group(1) if match else None


def contact_href(response: requests.Response) -> str | None:
    match = re.search(r'<p id="message-contact">[^<]*<a href="([^"]*)"', response.text)
    return html.unescape(match.group(1)) if match else None


def action_href(response: requests.Response) -> str | None:
    match = re.search(r'id="message-action" href="([^"]*)"', response.text)
    return html.unescape(match.group(1)) if match else None


def assert_html_page(response: requests.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert response.headers["Content-Type"].startswith("text/html"), response.headers
    assert "<title>" in response.text and "</html>" in response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert response.headers.get("Cache-Control") == "no-store"


class FormFields(HTMLParser):
    """name → value of the inputs and selects of a page's first POST form."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.action: str | None = None
        self._select: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form" and a.get("method", "").lower() == "post" and self.action is None:
            self.action, self._in_form = a.get("action", ""), True
        elif not self._in_form:
            return
        elif tag == "input" and a.get("name"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.values.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_form = False


def form_of(page_html: str) -> FormFields:
    parser = FormFields()
    parser.feed(page_html)
    return parser


class Invitee:
    """One invitee's browser, done with requests: our app over http, the local B2C over https."""

    def __init__(self, stack: Any, invitation: dict[str, Any]) -> None:
        self.stack = stack
        self.invitation = invitation
        self.id = invitation["id"]
        self.email = invitation["invitee"]["email"]
        self.app = requests.Session()
        self.cookie: str | None = None  # the sign-in cookie, then the session cookie

    # our app
    def get(self, url: str, cookie: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if cookie:
            headers["Cookie"] = f"{COOKIE}={cookie}"
        if not url.startswith("http"):
            url = self.stack.base_url + url
        return self.app.get(url, headers=headers, allow_redirects=False, timeout=TIMEOUT, **kwargs)

    def post(self, url: str, data: dict[str, str], cookie: str | None = None) -> requests.Response:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        if not url.startswith("http"):
            url = self.stack.base_url + url
        return self.app.post(url, data=data, headers=headers, allow_redirects=False, timeout=TIMEOUT)

    def start(self, **params: str) -> requests.Response:
        """Open the e-mail link; remembers the sign-in cookie."""
        response = self.get("/api/InviteUser", params={"invitationId": self.id, **params})
        if response.status_code == 302:
            self.cookie = session_cookie(response)
        return response

    # the local B2C
    def idp(self) -> requests.Session:
        session = requests.Session()
        # REQUESTS_CA_BUNDLE in the environment would override `verify`: trust only the local CA.
        session.trust_env = False
        session.verify = str(self.stack.ca_bundle)
        return session

    def _follow(self, idp: requests.Session, response: requests.Response) -> requests.Response | str:
        """Follow the IdP's redirects; our callback URL once it sends the browser back to us."""
        for _ in range(10):
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            location = urljoin(response.url, response.headers["Location"])
            if location.startswith(self.stack.base_url):
                return location
            response = idp.get(location, allow_redirects=False, timeout=TIMEOUT)
        raise AssertionError("too many redirects at the IdP")

    def login_page(self, authorize_url: str) -> tuple[requests.Session, requests.Response]:
        idp = self.idp()
        page = self._follow(idp, idp.get(authorize_url, allow_redirects=False, timeout=TIMEOUT))
        assert isinstance(page, requests.Response), f"the IdP answered at once: {page}"
        assert page.status_code == 200 and 'id="work-account"' in page.text, page.text[:2000]
        return idp, page

    def submit_idp_form(self, idp: requests.Session, page: requests.Response, **fields: str) -> requests.Response | str:
        """Post the first form of an IdP page (its hidden fields plus `fields`); the next page, or our callback."""
        form = form_of(page.text)
        action = urljoin(page.url, html.unescape(form.action or ""))
        return self._follow(idp, idp.post(action, data={**form.values, **fields}, allow_redirects=False, timeout=TIMEOUT))

    def open_sign_up(self, authorize_url: str) -> tuple[requests.Session, requests.Response]:
        """The IdP's sign-in page, then its "Sign up now" link."""
        idp, page = self.login_page(authorize_url)
        link = re.search(r'id="createAccount" href="([^"]+)"', page.text)
        assert link, page.text[:2000]
        sign_up = idp.get(urljoin(page.url, html.unescape(link.group(1))), allow_redirects=False, timeout=TIMEOUT)
        assert sign_up.status_code == 200 and 'id="send-code"' in sign_up.text, sign_up.text[:2000]
        return idp, sign_up

    def sign_up_to_consent(self, authorize_url: str, email: str | None = None) -> tuple[requests.Session, requests.Response]:
        """CASE 2 up to the terms page: sign up with a password, the code from the outbox e-mail."""
        address = email or self.email
        idp, page = self.open_sign_up(authorize_url)
        code_page = self.submit_idp_form(
            idp, page, email=address, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="send-code"
        )
        assert isinstance(code_page, requests.Response) and 'id="verify"' in code_page.text, code_page
        consent = self.submit_idp_form(idp, code_page, code=verification_code(Outbox(self.stack.outbox), address), action="verify")
        assert isinstance(consent, requests.Response) and 'id="accept"' in consent.text, consent
        return idp, consent

    def at_idp(self, authorize_url: str, *, email: str | None = None, kind: str = "work", password: str = STRONG_PASSWORD) -> str:
        """Through the IdP's pages, the URL of our callback it redirects to. `kind`: "work" (CASE 1),
        "local" (CASE 2: sign up, code from the outbox, terms accepted), "decline" (the same, terms
        declined, then Cancel on the page that says the account exists), "password" (a returning local
        account) or "cancel"."""
        if kind in ("local", "decline"):
            idp, page = self.sign_up_to_consent(authorize_url, email)
            answer = self.submit_idp_form(idp, page, decision="yes" if kind == "local" else "no")
            if kind == "decline":
                assert isinstance(answer, requests.Response) and 'id="review-terms"' in answer.text, answer
                answer = self.submit_idp_form(idp, answer, action="cancel")
        else:
            idp, page = self.login_page(authorize_url)
            action = {"work": "work", "password": "signin", "cancel": "cancel"}[kind]
            answer = self.submit_idp_form(idp, page, email=email or self.email, password=password, action=action)
        assert isinstance(answer, str), f"the IdP did not send us back: {str(getattr(answer, 'text', answer))[:2000]}"
        return answer

    def reset_password(self, authorize_url: str, new_password: str) -> str:
        """ "Forgot your password?" on the IdP's sign-in page: the address, the e-mailed code, a new
        password; our callback URL the IdP then sends the browser to, signed in."""
        idp, page = self.login_page(authorize_url)
        link = re.search(r'id="forgot-password" href="([^"]+)"', page.text)
        assert link
        reset = idp.get(urljoin(page.url, html.unescape(link.group(1))), allow_redirects=False, timeout=TIMEOUT)
        assert reset.status_code == 200 and 'id="reset-intro"' in reset.text, reset.text[:2000]
        code_page = self.submit_idp_form(idp, reset, email=self.email, action="send-code")
        assert isinstance(code_page, requests.Response) and 'id="verify"' in code_page.text, code_page
        new_password_page = self.submit_idp_form(
            idp, code_page, code=verification_code(Outbox(self.stack.outbox), self.email), action="verify"
        )
        assert isinstance(new_password_page, requests.Response) and 'id="reset-email"' in new_password_page.text, new_password_page
        answer = self.submit_idp_form(idp, new_password_page, newPassword=new_password, reenterPassword=new_password, action="continue")
        assert isinstance(answer, str), answer
        return answer

    def sign_in(self, *, kind: str = "work", email: str | None = None) -> requests.Response:
        """Link → IdP → callback; the callback's response (302 to the company page on success)."""
        started = self.start()
        assert started.status_code == 302, started.text[:2000]
        callback = self.at_idp(started.headers["Location"], kind=kind, email=email)
        response = self.get(callback, cookie=self.cookie)
        if response.status_code == 302 and session_cookie(response):
            self.cookie = session_cookie(response)
        return response

    # the company page
    def company_page(self) -> requests.Response:
        return self.get("/api/CreateCompany", cookie=self.cookie)

    def company_form(self) -> dict[str, str]:
        page = self.company_page()
        assert page.status_code == 200, page.text[:2000]
        return form_of(page.text).values

    def submit(self, values: dict[str, str], cookie: str | None = None) -> requests.Response:
        return self.post("/api/CreateCompany", values, cookie=cookie or self.cookie)


@pytest.fixture
def invite(api: Any, stack: Any):
    def make(**overrides: Any) -> Invitee:
        return Invitee(stack, api.invite(**overrides))

    return make


def signed_in(invite: Any, **overrides: Any) -> Invitee:
    invitee = invite(**overrides)
    response = invitee.sign_in()
    assert response.status_code == 302, response.text[:2000]
    assert response.headers["Location"].endswith("/api/CreateCompany")
    return invitee


# -- the e-mail link -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["not-a-uuid", "3f2504e0-4f89-11d3-9a0c", "<script>alert(1)</script>", ""])
def test_malformed_invitation_id_is_a_readable_400(stack: Any, raw: str) -> None:
    response = requests.get(f"{stack.base_url}/api/InviteUser", params={"invitationId": raw}, allow_redirects=False, timeout=TIMEOUT)
    assert_html_page(response, 400)
    assert title_of(response) == "This link is not complete"
    assert "<title>This link is not complete" in response.text
    assert "<script>alert(1)" not in response.text
    assert contact_href(response) == "mailto:customer.success@rconnect.example"


def test_link_without_id_is_a_readable_400(stack: Any) -> None:
    response = requests.get(f"{stack.base_url}/api/InviteUser", allow_redirects=False, timeout=TIMEOUT)
    assert_html_page(response, 400)
    assert page_kind(response) == "invalid-id"


def test_unknown_invitation_is_404(stack: Any) -> None:
    response = requests.get(
        f"{stack.base_url}/api/InviteUser", params={"invitationId": str(uuid.uuid4())}, allow_redirects=False, timeout=TIMEOUT
    )
    assert_html_page(response, 404)
    assert title_of(response) == "We can’t find this invitation"
    assert "new invitation" in text_of(response)
    # Nobody to ask is named on the link's page, so it names customer success.
    assert contact_href(response) == "mailto:customer.success@rconnect.example"
    assert "Need help? Our customer success team is lightning quick at replying: contact customer success" in text_of(response)


def test_revoked_invitation_is_410_and_mentions_a_new_invitation(api: Any, invite: Any, stored: Stored) -> None:
    invitee = invite()
    revoked = api.post(f"/invitations/{invitee.id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert stored.invitation(invitee.id)["Status"] == "revoked"
    response = invitee.start()
    assert_html_page(response, 410)
    assert page_kind(response) == "invitation-revoked"
    text = text_of(response)
    assert "withdrew this invitation" in text and "new one" in text
    assert "Mohamed-Nour, Tamer" in text and "GFMS" in text
    assert session_cookie(response) is None


def test_expired_invitation_is_410_with_request_a_new_invitation(invite: Any, stored: Stored) -> None:
    invitee = invite()
    stored.expire(invitee.id)
    response = invitee.start()
    assert_html_page(response, 410)
    assert title_of(response) == "This invitation has expired"
    href = action_href(response)
    assert href and href.startswith("mailto:customer.success@rconnect.example?subject=")
    assert invitee.id in href
    assert "Request a new invitation" in text_of(response)
    # The text sends the invitee where the button does.
    assert "Request a new one from our customer success team" in text_of(response)
    assert "Ask Mohamed-Nour, Tamer" not in text_of(response)
    assert stored.invitation(invitee.id)["Status"] == "pending"  # expiry is derived, never written


def test_expired_invitation_with_the_inviters_address_writes_to_the_inviter(invite: Any, stored: Stored) -> None:
    inviter = {"name": "Mohamed-Nour, Tamer", "organisation": "GFMS", "email": "tamer.mohamed-nour@gfms.example"}
    invitee = invite(inviter=inviter)
    assert invitee.invitation["inviter"]["email"] == inviter["email"]  # stored and shown by the API
    stored.expire(invitee.id)
    response = invitee.start()
    assert_html_page(response, 410)
    href = action_href(response)
    assert href and href.startswith("mailto:tamer.mohamed-nour@gfms.example?subject=") and invitee.id in href
    assert "Ask Mohamed-Nour, Tamer from GFMS to send it again" in text_of(response)
    assert "customer success" not in text_of(response)


def test_valid_link_redirects_to_the_idp_with_pkce_state_nonce_and_login_hint(stack: Any, invite: Any, stored: Stored) -> None:
    invitee = invite()
    response = invitee.start()
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(stack.idp_url + "/")
    parsed = urlparse(location)
    discovery = urljoin(location, parsed.path.rsplit("/", 1)[0] + "/.well-known/openid-configuration")
    endpoint = invitee.idp().get(discovery, timeout=TIMEOUT).json()["authorization_endpoint"]
    assert location.split("?")[0] == endpoint
    query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
    assert query["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", query["code_challenge"])
    assert len(query["state"]) >= 16 and len(query["nonce"]) >= 16
    assert query["login_hint"] == invitee.email
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == f"{stack.base_url}/api/InviteUser/callback"
    assert "openid" in query["scope"].split()

    set_cookie = response.headers["Set-Cookie"]
    attributes = [part.strip().lower() for part in set_cookie.split(";")]
    assert attributes[0].startswith(f"{COOKIE}=") and len(invitee.cookie or "") > 20
    assert "httponly" in attributes and "secure" in attributes and "samesite=lax" in attributes
    assert "path=/api" in attributes
    # The PKCE verifier travels sealed in the cookie (nothing is stored), well under a browser's 4 KB.
    assert invitee.cookie and "code_verifier" not in invitee.cookie and len(set_cookie) < 1024

    # The IdP's login page is prefilled with the invited address.
    _, page = invitee.login_page(location)
    assert f'value="{invitee.email}"' in page.text


# -- the sign-in callback --------------------------------------------------------------------------


def test_callback_without_cookie_is_400(invite: Any, stored: Stored) -> None:
    invitee = invite()
    started = invitee.start()
    callback = invitee.at_idp(started.headers["Location"])
    response = invitee.get(callback)  # no cookie: nothing tells which invitation; the e-mail link will
    assert_html_page(response, 400)
    assert page_kind(response) == "sign-in-lost"
    assert session_cookie(response) is None
    assert stored.invitation(invitee.id)["Status"] == "pending"


def test_callback_with_forged_or_mismatched_state_resumes_without_redeeming(stack: Any, invite: Any, stored: Stored) -> None:
    first, second = invite(), invite()
    first.start()
    second_started = second.start()
    callback = second.at_idp(second_started.headers["Location"])
    # second's real code and state, with first's cookie: the states do not match.
    mismatched = first.get(callback, cookie=first.cookie)
    assert mismatched.status_code == 303
    assert mismatched.headers["Location"] == first.invitation["inviteRedeemUrl"]  # the cookie's sign-in, afresh
    assert not cleared_cookie(mismatched)  # another sign-in's answer does not spend this one
    # a forged cookie (not sealed by us) with the right state: nothing of ours, the e-mail link again
    forged = second.get(callback, cookie="eyJzdGF0ZSI6ImZvcmdlZCJ9.forged.signature")
    assert_html_page(forged, 400)
    assert page_kind(forged) == "sign-in-lost"
    # a state nobody issued, with a genuine cookie
    query = parse_qs(urlparse(callback).query)
    made_up = second.get(
        f"{stack.base_url}/api/InviteUser/callback",
        cookie=second.cookie,
        params={"code": query["code"][0], "state": "made-up-state"},
    )
    assert made_up.status_code == 303 and made_up.headers["Location"] == second.invitation["inviteRedeemUrl"]
    for invitee in (first, second):
        assert stored.invitation(invitee.id)["Status"] == "pending"
    # None of the refusals used up the real answer: it still works, once.
    accepted = second.get(callback, cookie=second.cookie)
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/api/CreateCompany")


def test_callback_replayed_after_success_signs_in_afresh(invite: Any, stored: Stored) -> None:
    invitee = invite()
    started = invitee.start()
    sign_in_cookie = invitee.cookie
    callback = invitee.at_idp(started.headers["Location"])
    first = invitee.get(callback, cookie=sign_in_cookie)
    assert first.status_code == 302 and session_cookie(first)
    # The session replaced the sign-in cookie; one kept from before (copied, or a replaying
    # attacker's) still matches the answer's state, but B2C redeems a code only once.
    replay = invitee.get(callback, cookie=sign_in_cookie)
    assert replay.status_code == 303 and replay.headers["Location"] == invitee.invitation["inviteRedeemUrl"]
    assert session_cookie(replay) is None and cleared_cookie(replay)
    assert stored.actions(invitee.id).count("accepted") == 1


def test_the_link_opened_in_a_second_tab_replaces_the_first_tabs_sign_in(invite: Any, stored: Stored) -> None:
    invitee = invite()
    first_tab = invitee.start()
    second_tab = invitee.start()  # one cookie per browser: it now holds the second tab's sign-in
    resumed = invitee.get(invitee.at_idp(first_tab.headers["Location"]), cookie=invitee.cookie)
    assert resumed.status_code == 303 and resumed.headers["Location"] == invitee.invitation["inviteRedeemUrl"]
    assert not cleared_cookie(resumed)
    assert stored.invitation(invitee.id)["Status"] == "pending"
    accepted = invitee.get(invitee.at_idp(second_tab.headers["Location"]), cookie=invitee.cookie)
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/api/CreateCompany"), accepted.text[:2000]


def test_two_concurrent_callbacks_accept_once(invite: Any, stored: Stored) -> None:
    invitee = invite()
    attempts = []
    for _ in range(2):
        started = invitee.start()
        attempts.append((invitee.cookie, invitee.at_idp(started.headers["Location"])))
    results: list[requests.Response] = []
    barrier = threading.Barrier(2)

    def call(cookie: str, url: str) -> None:
        barrier.wait()
        results.append(invitee.get(url, cookie=cookie))

    threads = [threading.Thread(target=call, args=attempt) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(results) == 2
    assert all(r.status_code in (302, 409) for r in results), [(r.status_code, r.text[:500]) for r in results]
    assert any(r.status_code == 302 for r in results)
    assert stored.actions(invitee.id).count("accepted") == 1
    entity = stored.invitation(invitee.id)
    assert entity["Status"] == "accepted"
    assert entity["data"]["accepted_by"]["email"] == invitee.email


def test_the_same_callback_delivered_twice_at_once_signs_in_once(invite: Any, stored: Stored) -> None:
    invitee = invite()
    started = invitee.start()
    callback = invitee.at_idp(started.headers["Location"])
    results: list[requests.Response] = []
    barrier = threading.Barrier(2)

    def call() -> None:
        barrier.wait()
        results.append(invitee.get(callback, cookie=invitee.cookie))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    # B2C redeems the code once: the other answer is "already used". Should both redemptions reach
    # the IdP at the same instant, both may pass (the stand-in checks and marks a code in two
    # steps); then the same account signs in twice in the same browser, and the invitation's
    # guarded write still accepts it once.
    assert sorted(r.status_code for r in results) in ([302, 303], [302, 302]), [(r.status_code, r.text[:500]) for r in results]
    assert all(r.headers["Location"] == invitee.invitation["inviteRedeemUrl"] for r in results if r.status_code == 303)
    assert all(session_cookie(r) for r in results if r.status_code == 302)
    assert stored.actions(invitee.id).count("accepted") == 1


def test_signing_in_again_after_acceptance_resumes_the_company_page(invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    first_session = invitee.cookie
    again = invitee.sign_in()  # e.g. the link opened again on another day
    assert again.status_code == 302 and again.headers["Location"].endswith("/api/CreateCompany")
    assert invitee.cookie != first_session
    assert invitee.company_page().status_code == 200
    assert stored.actions(invitee.id).count("accepted") == 1
    assert stored.invitation(invitee.id)["Status"] == "accepted"


def test_invitation_revoked_during_sign_in_is_not_accepted(api: Any, invite: Any, stored: Stored) -> None:
    invitee = invite()
    started = invitee.start()
    callback = invitee.at_idp(started.headers["Location"])
    assert api.post(f"/invitations/{invitee.id}/revoke").status_code == 200
    response = invitee.get(callback, cookie=invitee.cookie)
    assert_html_page(response, 410)
    assert page_kind(response) == "invitation-revoked"
    assert session_cookie(response) is None
    assert stored.invitation(invitee.id)["Status"] == "revoked"
    assert "accepted" not in stored.actions(invitee.id)


def test_cancel_at_the_idp_shows_a_retry_page(invite: Any, stored: Stored) -> None:
    invitee = invite()
    started = invitee.start()
    callback = invitee.at_idp(started.headers["Location"], kind="cancel")
    assert "AADB2C90091" in parse_qs(urlparse(callback).query)["error_description"][0]
    response = invitee.get(callback, cookie=invitee.cookie)
    assert_html_page(response, 200)
    assert title_of(response) == "You cancelled the sign-in"
    assert action_href(response) == invitee.invitation["inviteRedeemUrl"]
    assert stored.invitation(invitee.id)["Status"] == "pending"
    # The retry link works: a fresh sign-in starts.
    assert invitee.start().status_code == 302


def test_forgot_password_answered_by_b2c_shows_a_retry_page_forcing_login(stack: Any, invite: Any, stored: Stored) -> None:
    """B2C without self-service reset in the flow answers "Forgot your password?" with AADB2C90118."""
    invitee = invite()
    started = invitee.start()
    state = parse_qs(urlparse(started.headers["Location"]).query)["state"][0]
    callback = f"{stack.base_url}/api/InviteUser/callback?" + urlencode(
        {"error": "access_denied", "error_description": "AADB2C90118: The user has forgotten their password.", "state": state}
    )
    response = invitee.get(callback, cookie=invitee.cookie)
    assert_html_page(response, 200)
    assert title_of(response) == "Forgot your password?"
    assert action_href(response) == invitee.invitation["inviteRedeemUrl"] + "&prompt=login"
    retry = invitee.get(action_href(response) or "")
    assert retry.status_code == 302
    assert parse_qs(urlparse(retry.headers["Location"]).query)["prompt"] == ["login"]
    assert stored.invitation(invitee.id)["Status"] == "pending"


def test_generic_idp_error_is_a_sentence_its_description_escaped_in_details_with_a_retry_link(
    stack: Any, invite: Any, stored: Stored
) -> None:
    invitee = invite()
    started = invitee.start()
    state = parse_qs(urlparse(started.headers["Location"]).query)["state"][0]
    response = invitee.get(
        f"{stack.base_url}/api/InviteUser/callback",
        cookie=invitee.cookie,
        params={
            "error": "server_error",
            "error_description": "AADB2C90000: <b>Something</b> broke.\nCorrelation ID: 1234",
            "state": state,
        },
    )
    assert_html_page(response, 400)
    assert title_of(response) == "Sign-in didn’t work"
    assert "The sign-in service reported a problem" in text_of(response)
    details = re.search(r'<details id="message-details">(.*?)</details>', response.text, re.S)
    assert details and "AADB2C90000: &lt;b&gt;Something&lt;/b&gt; broke." in details.group(1)
    assert "<b>Something</b>" not in response.text and "&lt;b&gt;Something" in response.text
    assert "Correlation ID" not in response.text
    assert action_href(response) == invitee.invitation["inviteRedeemUrl"]
    assert stored.invitation(invitee.id)["Status"] == "pending"


def test_signing_in_as_another_address_is_403_and_leaves_the_invitation_pending(invite: Any, stored: Stored) -> None:
    invitee = invite()
    other = unique_email("mallory")
    response = invitee.sign_in(email=other)
    assert_html_page(response, 403)
    assert title_of(response) == "This invitation is for another e-mail address"
    text = text_of(response)
    assert other in text and invitee.email in text
    assert action_href(response) == invitee.invitation["inviteRedeemUrl"] + "&prompt=login"
    assert session_cookie(response) is None
    entity = stored.invitation(invitee.id)
    assert entity["Status"] == "pending" and entity["data"].get("accepted_by") is None
    assert "accepted" not in stored.actions(invitee.id)


def test_sign_in_accepts_and_records_the_user(invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    cookie = invitee.cookie or ""
    entity = stored.invitation(invitee.id)
    assert entity["Status"] == "accepted"
    user = entity["data"]["accepted_by"]
    assert user["email"] == invitee.email and user["account_type"] == "work"
    row = stored.user(user["object_id"])
    assert row["AccountType"] == "work" and row["Email"] == invitee.email
    assert row["HomeTenantId"]
    assert len(cookie) > 20


# -- the local B2C: CASE 2 as the customer guide tells it (sign up, code by e-mail, terms) ---------


def idp_error(page: requests.Response | str) -> str:
    assert isinstance(page, requests.Response), f"the IdP sent us back: {page}"
    match = re.search(r'<div id="error"[^>]*>(.*?)</div>', page.text, re.S)
    assert match, page.text[:2000]
    return html.unescape(match.group(1)).strip()


def user_id(email: str, kind: str) -> str:
    """The local IdP's deterministic object id of a work or local account (see tools/idp/server.mjs):
    like B2C, it keeps a local and a federated account with the same e-mail as two users."""
    prefix = "local-user" if kind == "local" else "user"
    return str(uuid.UUID(hashlib.sha256(f"{prefix}:{email.lower()}".encode()).hexdigest()[:32]))


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("Ab1-xyz", "Ab1-xyz", "The password must be between 8 and 64 characters."),
        ("Ab1-" * 17, "Ab1-" * 17, "The password must be between 8 and 64 characters."),
        ("alllowercase1", "alllowercase1", "The password must have at least 3 of the following"),
        ("ALLUPPER-ONLY", "ALLUPPER-ONLY", "The password must have at least 3 of the following"),
        (STRONG_PASSWORD, STRONG_PASSWORD + "x", "The password entry fields do not match."),
    ],
    ids=["too-short", "too-long", "lower-and-digit", "upper-and-symbol", "confirmation-differs"],
)
def test_sign_up_with_a_weak_or_mismatched_password_is_refused(
    invite: Any, outbox: Outbox, password: str, confirm: str, message: str
) -> None:
    invitee = invite()
    idp, page = invitee.open_sign_up(invitee.start().headers["Location"])
    assert "8 to 64 characters" in text_of(page)  # the rules are said before they are enforced
    answer = invitee.submit_idp_form(idp, page, email=invitee.email, newPassword=password, reenterPassword=confirm, action="send-code")
    assert isinstance(answer, requests.Response) and answer.status_code == 400
    assert message in idp_error(answer)
    assert form_of(answer.text).values["email"] == invitee.email  # what was typed is kept, passwords are not
    assert form_of(answer.text).values.get("newPassword", "") == ""
    assert verification_emails(outbox, invitee.email) == []  # no code sent for a refused form


def test_the_verification_code_is_e_mailed_to_the_outbox(invite: Any, outbox: Outbox, stack: Any) -> None:
    invitee = invite()
    idp, page = invitee.open_sign_up(invitee.start().headers["Location"])
    code_page = invitee.submit_idp_form(
        idp, page, email=invitee.email, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="send-code"
    )
    assert isinstance(code_page, requests.Response) and code_page.status_code == 200
    [message] = verification_emails(outbox, invitee.email)
    assert message["To"] == invitee.email
    assert message["Subject"] == "My rConnect: your email verification code"
    assert str(message["From"]) == "My rConnect <no-reply@accounts.rconnect.example>"
    code = verification_code(outbox, invitee.email)
    assert re.fullmatch(r"\d{6}", code)
    # The page says where the e-mail went, and does not show the code itself.
    text = text_of(code_page)
    assert f"sent to your inbox: {invitee.email}" in text and str(stack.outbox) in text
    assert code not in code_page.text


def test_wrong_codes_are_refused_and_the_tries_are_limited(invite: Any, outbox: Outbox) -> None:
    invitee = invite()
    idp, page = invitee.open_sign_up(invitee.start().headers["Location"])
    code_page = invitee.submit_idp_form(
        idp, page, email=invitee.email, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="send-code"
    )
    assert isinstance(code_page, requests.Response)
    code = verification_code(outbox, invitee.email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(2):
        code_page = invitee.submit_idp_form(idp, code_page, code=wrong, action="verify")
        assert "does not match our records" in idp_error(code_page)
    code_page = invitee.submit_idp_form(idp, code_page, code=wrong, action="verify")
    assert "too many incorrect attempts" in idp_error(code_page)
    # After the third wrong try even the right code is refused: only a new code helps.
    code_page = invitee.submit_idp_form(idp, code_page, code=code, action="verify")
    assert "too many incorrect attempts" in idp_error(code_page)
    code_page = invitee.submit_idp_form(idp, code_page, action="resend")
    assert isinstance(code_page, requests.Response) and 'id="info"' in code_page.text
    assert len(verification_emails(outbox, invitee.email)) == 2
    new_code = verification_code(outbox, invitee.email)
    consent = invitee.submit_idp_form(idp, code_page, code=new_code, action="verify")
    assert isinstance(consent, requests.Response) and 'id="accept"' in consent.text, consent


def test_declining_the_terms_shows_our_cancel_page(invite: Any, stored: Stored) -> None:
    invitee = invite()
    callback = invitee.at_idp(invitee.start().headers["Location"], kind="decline")
    query = parse_qs(urlparse(callback).query)
    assert query["error"] == ["access_denied"]
    assert query["error_description"] == ["AADB2C90091: The user has cancelled entering self-asserted information."]
    response = invitee.get(callback, cookie=invitee.cookie)
    assert_html_page(response, 200)
    assert title_of(response) == "You cancelled the sign-in"
    assert stored.invitation(invitee.id)["Status"] == "pending"


def test_accepting_the_terms_signs_in_a_new_local_account(invite: Any, stored: Stored) -> None:
    invitee = invite()
    idp, consent = invitee.sign_up_to_consent(invitee.start().headers["Location"])
    text = text_of(consent)
    assert "My rConnect" in text and "Sign you in" in text and "Read your profile" in text
    for link in ("terms-link", "privacy-link"):
        href = re.search(rf'id="{link}" href="([^"]+)"', consent.text)
        assert href, link
        assert idp.get(html.unescape(href.group(1)), timeout=TIMEOUT).status_code == 200
    callback = invitee.submit_idp_form(idp, consent, decision="yes")
    assert isinstance(callback, str) and "code=" in callback
    response = invitee.get(callback, cookie=invitee.cookie)
    assert response.status_code == 302 and response.headers["Location"].endswith("/api/CreateCompany")
    invitee.cookie = session_cookie(response)
    assert "Signed in with your e-mail address" in text_of(invitee.company_page())
    user = stored.invitation(invitee.id)["data"]["accepted_by"]
    assert user["account_type"] == "local" and user["email"] == invitee.email
    assert user["object_id"] == user_id(invitee.email, "local")


def test_a_returning_customer_signs_in_with_the_password(invite: Any, stack: Any, stored: Stored) -> None:
    invitee = invite()
    assert invitee.sign_in(kind="local").status_code == 302
    # The account is stored with a salted scrypt hash, never the password.
    accounts = json.loads((stack.config.data_dir / "idp" / "accounts.json").read_text())
    account = accounts[invitee.email.lower()]
    assert account["passwordHash"].startswith("scrypt$") and STRONG_PASSWORD not in json.dumps(account)

    started = invitee.start()
    idp, page = invitee.login_page(started.headers["Location"])
    for password, message in ((STRONG_PASSWORD + "x", "Your password is incorrect."), ("", "Please enter your password.")):
        refused = invitee.submit_idp_form(idp, page, email=invitee.email, password=password, action="signin")
        assert idp_error(refused) == message
    unknown = invitee.submit_idp_form(idp, page, email=unique_email("nobody"), password=STRONG_PASSWORD, action="signin")
    assert idp_error(unknown) == "We can't seem to find your account."
    # The right password: straight back to us, the terms were accepted last time.
    callback = invitee.submit_idp_form(idp, page, email=invitee.email.upper(), password=STRONG_PASSWORD, action="signin")
    assert isinstance(callback, str), callback
    again = invitee.get(callback, cookie=invitee.cookie)
    assert again.status_code == 302 and again.headers["Location"].endswith("/api/CreateCompany")
    assert stored.actions(invitee.id).count("accepted") == 1
    # Signing up again with the same address leads to signing in, the address filled in: nothing to create.
    idp, sign_up = invitee.open_sign_up(invitee.start().headers["Location"])
    duplicate = invitee.submit_idp_form(
        idp, sign_up, email=invitee.email, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="send-code"
    )
    assert isinstance(duplicate, requests.Response) and 'id="work-account"' in duplicate.text
    assert f"An account already exists for {invitee.email}" in text_of(duplicate) and 'id="error"' not in duplicate.text
    assert form_of(duplicate.text).values["email"] == invitee.email
    callback = invitee.submit_idp_form(idp, duplicate, password=STRONG_PASSWORD, action="signin")
    assert isinstance(callback, str) and "code=" in callback


def test_forgot_password_resets_it_with_an_e_mailed_code_and_signs_in(invite: Any, outbox: Outbox, stored: Stored) -> None:
    invitee = invite()
    assert invitee.sign_in(kind="local").status_code == 302
    new_password = "Forgotten-2027"
    callback = invitee.reset_password(invitee.start().headers["Location"], new_password)
    assert "code=" in callback
    assert len(verification_emails(outbox, invitee.email)) == 2  # sign-up, then the reset
    response = invitee.get(callback, cookie=invitee.cookie)
    assert response.status_code == 302 and response.headers["Location"].endswith("/api/CreateCompany")
    # The new password is the one that signs in now.
    idp, page = invitee.login_page(invitee.start().headers["Location"])
    assert idp_error(invitee.submit_idp_form(idp, page, email=invitee.email, password=STRONG_PASSWORD, action="signin")) == (
        "Your password is incorrect."
    )
    assert isinstance(invitee.submit_idp_form(idp, page, email=invitee.email, password=new_password, action="signin"), str)


def test_a_page_of_an_ended_sign_in_offers_to_start_again(invite: Any) -> None:
    """Back or reload onto the IdP once its sign-in has ended: B2C's page with "Start again", which
    asks the same authorization again (no raw session error, nothing to resubmit)."""
    invitee = invite()
    location = invitee.start().headers["Location"]
    idp, consent = invitee.sign_up_to_consent(location)
    assert isinstance(invitee.submit_idp_form(idp, consent, decision="yes"), str)
    back = idp.get(consent.url, allow_redirects=False, timeout=TIMEOUT)
    assert back.status_code == 400 and "<h1>This page has expired</h1>" in back.text
    assert "session_not_found" not in back.text
    start = re.search(r'id="start-again"[^>]* href="([^"]+)"', back.text)
    assert start, back.text[-1500:]
    again = invitee._follow(idp, idp.get(urljoin(back.url, html.unescape(start.group(1))), allow_redirects=False, timeout=TIMEOUT))
    assert isinstance(again, requests.Response) and 'id="work-account"' in again.text
    assert form_of(again.text).values["email"] == invitee.email


def test_ui_locales_chooses_the_language_of_the_idp_pages_and_e_mail(invite: Any, outbox: Outbox) -> None:
    invitee = invite(language="fr")
    location = invitee.start().headers["Location"]
    query = parse_qs(urlparse(location).query)
    if "ui_locales" not in query:  # the app sends the invitation's language; until then, as it will
        location += "&ui_locales=fr"
    idp, page = invitee.login_page(location)
    assert '<html lang="fr">' in page.text and "Se connecter" in text_of(page)
    sign_up = idp.get(urljoin(page.url, html.unescape(re.search(r'id="createAccount" href="([^"]+)"', page.text).group(1))))  # type: ignore[union-attr]
    assert '<html lang="fr">' in sign_up.text and "Envoyer le code de vérification" in text_of(sign_up)
    weak = invitee.submit_idp_form(idp, sign_up, email=invitee.email, newPassword="court", reenterPassword="court", action="send-code")
    assert idp_error(weak) == "Le mot de passe doit comporter entre 8 et 64 caractères."
    code_page = invitee.submit_idp_form(
        idp, weak, email=invitee.email, newPassword=STRONG_PASSWORD, reenterPassword=STRONG_PASSWORD, action="send-code"
    )
    assert isinstance(code_page, requests.Response) and "Vérifiez votre adresse e-mail" in text_of(code_page)
    [message] = verification_emails(outbox, invitee.email)
    assert (
        message["Content-Language"] == "fr"
        and str(message["Subject"]) == "My rConnect\u00a0: votre code de vérification de l’adresse e-mail"
    )
    consent = invitee.submit_idp_form(idp, code_page, code=verification_code(outbox, invitee.email), action="verify")
    assert isinstance(consent, requests.Response) and "Autorisations demandées" in text_of(consent)
    assert ">Oui<" in consent.text and ">Non<" in consent.text


@pytest.mark.parametrize(
    ("ui_locales", "lang", "sign_in", "sign_up"),
    [
        ("en", "en", "Sign in", "Sign up now"),
        ("fr-CH fr", "fr", "Se connecter", "Inscrivez-vous maintenant"),
        ("de", "de", "Anmelden", "Jetzt registrieren"),
        ("it-IT", "it", "Accedi", "Iscriviti ora"),
        ("es", "es", "Iniciar sesión", "Regístrese ahora"),
        ("pt-BR ja it", "it", "Accedi", "Iscriviti ora"),  # the first supported language wins
    ],
)
def test_the_idp_speaks_the_five_languages(invite: Any, ui_locales: str, lang: str, sign_in: str, sign_up: str) -> None:
    invitee = invite()
    location = re.sub(r"&ui_locales=[^&]*", "", invitee.start().headers["Location"]) + "&" + urlencode({"ui_locales": ui_locales})
    _, page = invitee.login_page(location)
    assert f'<html lang="{lang}">' in page.text
    assert f"<title>{sign_in}</title>" in page.text and sign_up in text_of(page)


def test_without_ui_locales_the_idp_follows_accept_language(invite: Any) -> None:
    invitee = invite()
    location = invitee.start().headers["Location"]
    location = re.sub(r"&ui_locales=[^&]*", "", location)
    idp = invitee.idp()
    idp.headers["Accept-Language"] = "de-CH, de;q=0.9, en;q=0.5"
    page = invitee._follow(idp, idp.get(location, allow_redirects=False, timeout=TIMEOUT))
    assert isinstance(page, requests.Response)
    assert '<html lang="de">' in page.text and "Jetzt registrieren" in text_of(page)


# -- the local B2C's ID tokens: the claim shapes of real B2C with the custom policy (infra/b2c) ------


def id_token_claims(invitee: Invitee, kind: str) -> dict[str, Any]:
    """The ID token the IdP issues after `kind` of sign-in: the app's own authorization request,
    with a PKCE challenge of ours, redeemed by us as MSAL would (the signature is MSAL's concern)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = urlparse(invitee.start().headers["Location"])
    query = {**parse_qs(authorize.query), "code_challenge": [challenge]}
    callback = invitee.at_idp(authorize._replace(query=urlencode(query, doseq=True)).geturl(), kind=kind)
    idp = invitee.idp()
    issuer = authorize.geturl().split("/oauth2/")[0].split("/auth")[0]
    discovery = idp.get(f"{issuer}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    token = idp.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": parse_qs(urlparse(callback).query)["code"][0],
            "redirect_uri": query["redirect_uri"][0],
            "client_id": query["client_id"][0],
            "client_secret": "local-development-client-secret",  # the IdP's and the app's development default
            "code_verifier": verifier,
        },
        timeout=TIMEOUT,
    )
    assert token.status_code == 200, token.text
    payload = token.json()["id_token"].split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] == discovery["issuer"] and claims["aud"] == query["client_id"][0]
    return claims


def test_a_local_account_token_has_the_custom_policys_claims(invite: Any) -> None:
    invitee = invite()
    claims = id_token_claims(invitee, "local")
    assert claims["emails"] == [invitee.email] and "email" not in claims and "upn" not in claims
    assert claims["idp"] == "LocalAccount"  # B2C user flows leave it out; the custom policy sends it
    assert claims["sub"] == claims["oid"] == user_id(invitee.email, "local")
    assert claims["tfp"] == claims["acr"] == "B2C_1A_SIGNUP_SIGNIN"
    assert claims["name"] and claims["given_name"]
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["tid"])


def test_a_work_account_token_has_the_verified_email_upn_and_entra_idp(invite: Any) -> None:
    invitee = invite()
    claims = id_token_claims(invitee, "work")
    assert claims["email"] == claims["upn"] == invitee.email and "emails" not in claims
    assert claims["idp"] == f"https://login.microsoftonline.com/{tenant_guid('contoso.example')}/v2.0"
    assert claims["sub"] == claims["oid"] == user_id(invitee.email, "work")
    assert claims["tfp"] == claims["acr"] == "B2C_1A_SIGNUP_SIGNIN"
    assert claims["tid"] != tenant_guid("contoso.example")  # tid is the B2C tenant, as in real B2C tokens


def test_local_accounts_survive_an_idp_restart(invite: Any, stack: Any) -> None:
    invitee = invite()
    assert invitee.sign_in(kind="local").status_code == 302
    stack.stop_service("idp")
    stack.start_service("idp")
    # The link opened again after the restart: the password still works, the terms stay accepted.
    response = invitee.sign_in(kind="password")
    assert response.status_code == 302 and response.headers["Location"].endswith("/api/CreateCompany")


# -- the company page ------------------------------------------------------------------------------


def test_company_page_without_session_is_401(stack: Any) -> None:
    for cookie in (None, "not-a-session"):
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        response = requests.get(f"{stack.base_url}/api/CreateCompany", headers=headers, allow_redirects=False, timeout=TIMEOUT)
        assert_html_page(response, 401)
        assert title_of(response) == "Your session has ended"
    posted = requests.post(f"{stack.base_url}/api/CreateCompany", data={"name": "X"}, allow_redirects=False, timeout=TIMEOUT)
    assert_html_page(posted, 401)


def test_sign_in_cookie_is_not_a_session(invite: Any) -> None:
    invitee = invite()
    invitee.start()
    response = invitee.company_page()  # the sign-in cookie, not yet a session
    assert_html_page(response, 401)


def test_company_page_is_prefilled_with_sales_data(invite: Any) -> None:
    invitee = signed_in(invite)
    page = invitee.company_page()
    assert_html_page(page, 200)
    values = form_of(page.text).values
    company = invitee.invitation["company"]
    assert values["name"] == company["name"]
    assert values["street"] == company["street"]
    assert values["postal_code"] == company["postalCode"]
    assert values["city"] == company["city"]
    assert values["country"] == "CH"
    assert values["vat_number"] == company["vatNumber"]
    assert values["phone"] == company["phone"]
    assert values["website"].rstrip("/") == company["website"].rstrip("/")
    assert values["contact_name"]
    assert len(values["csrf_token"]) >= 32
    assert f'value="{invitee.email}" readonly' in page.text
    assert "Signed in with your work account" in text_of(page)
    csp = page.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce and f'<script nonce="{nonce.group(1)}">' in page.text


def test_bad_csrf_token_is_403_and_creates_nothing(invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    for token in ("forged", ""):
        response = invitee.submit({**values, "csrf_token": token})
        assert_html_page(response, 403)
        assert title_of(response) == "This form has expired"
    missing = invitee.submit({key: value for key, value in values.items() if key != "csrf_token"})
    assert_html_page(missing, 403)
    assert stored.company_rows(invitee.id) == []
    assert stored.invitation(invitee.id)["Status"] == "accepted"


def test_another_invitees_session_cannot_post_this_form(invite: Any, stored: Stored) -> None:
    alice, bob = signed_in(invite), signed_in(invite)
    values = alice.company_form()
    # Bob's session with Alice's token: the token is bound to the session it came with.
    response = bob.submit(values)
    assert_html_page(response, 403)
    assert stored.company_rows(alice.id) == [] and stored.company_rows(bob.id) == []


def test_invalid_fields_are_422_with_errors_and_values_kept(invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    bad = {
        **values,
        "name": "Renamed & Sons",
        "city": "   ",
        "postal_code": "!",
        "phone": "12",
        "country": "XX",
        "website": "ftp://nope",
    }
    response = invitee.submit(bad)
    assert_html_page(response, 422)
    assert 'id="form-errors"' in response.text
    kept = form_of(response.text).values
    assert kept["name"] == "Renamed & Sons"
    assert kept["postal_code"] == "!" and kept["phone"] == "12" and kept["website"] == "ftp://nope"
    assert kept["street"] == values["street"]
    assert kept["csrf_token"] == values["csrf_token"]
    errors = dict(re.findall(r'<div class="error" id="(\w+)-error"[^>]*>([^<]*)</div>', response.text))
    for field in ("city", "postal_code", "phone", "country", "website"):
        assert errors[field].strip(), (field, errors)
    for field in ("name", "street", "vat_number", "contact_name"):
        assert errors[field].strip() == "", (field, errors)
    # The summary beside the (grey) button names and links every refused field, in the form's order.
    summary = re.search(r'<div id="error-summary".*?</ul>', response.text, re.S)
    assert summary, response.text
    assert re.findall(r'<a href="#(\w+)">', summary.group(0)) == ["postal_code", "city", "country", "phone", "website"]
    assert re.search(r'<button id="create-company"[^>]*aria-disabled="true"', response.text)
    assert stored.company_rows(invitee.id) == []
    assert stored.invitation(invitee.id)["Status"] == "accepted"


def test_invitation_revoked_while_on_the_company_page_creates_nothing(api: Any, invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    assert api.post(f"/invitations/{invitee.id}/revoke").status_code == 200
    page = invitee.company_page()
    assert_html_page(page, 410)
    assert page_kind(page) == "invitation-revoked"
    posted = invitee.submit(values)
    assert_html_page(posted, 410)
    assert stored.company_rows(invitee.id) == []
    assert stored.invitation(invitee.id)["Status"] == "revoked"


def test_invitation_expired_while_on_the_company_page_creates_nothing(invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    stored.expire(invitee.id)
    posted = invitee.submit(values)
    assert_html_page(posted, 410)
    assert page_kind(posted) == "invitation-expired"
    assert stored.company_rows(invitee.id) == []


def test_oversized_form_is_refused(invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    response = invitee.submit({**values, "padding": "x" * (70 * 1024)})
    assert_html_page(response, 413)
    assert stored.company_rows(invitee.id) == []


def test_create_company_stores_company_membership_and_completes(stack: Any, invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    response = invitee.submit({**values, "phone": "+41 52 999 88 77", "vat_number": "che-987.654.321"})
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["Location"] == f"{stack.base_url}/api/Welcome"
    entity = stored.invitation(invitee.id)
    assert entity["Status"] == "completed"
    company = stored.company_of(invitee.id)
    assert entity["data"]["company_id"] == company["PartitionKey"]
    assert company["data"]["data"]["phone"] == "+41 52 999 88 77"
    assert company["data"]["data"]["vat_number"] == "CHE-987.654.321"
    [member] = stored.members(company["PartitionKey"])
    assert member["Role"] == "admin" and member["Email"] == invitee.email
    assert member["RowKey"] == f"member-{entity['data']['accepted_by']['object_id']}"

    welcome = invitee.get(response.headers["Location"], cookie=invitee.cookie)
    assert_html_page(welcome, 200)
    assert "Your company Contoso Precision AG is ready" in text_of(welcome)
    # The company page now sends the invitee on, and posting again changes nothing.
    again = invitee.company_page()
    assert again.status_code == 303 and again.headers["Location"] == f"{stack.base_url}/api/Welcome"
    resubmitted = invitee.submit({**values, "name": "Another Name AG"})
    assert resubmitted.status_code == 303
    [company] = stored.company_rows(invitee.id)
    assert company["data"]["data"]["name"] == "Contoso Precision AG"
    assert stored.actions(invitee.id).count("completed") == 1


def test_completed_invitation_link_shows_a_sign_in_link(stack: Any, invite: Any) -> None:
    invitee = signed_in(invite)
    assert invitee.submit(invitee.company_form()).status_code == 303
    # With the session that completed it: the welcome page.
    again = invitee.get(invitee.invitation["inviteRedeemUrl"], cookie=invitee.cookie)
    assert again.status_code == 303 and again.headers["Location"] == f"{stack.base_url}/api/Welcome"
    # Without (another browser, days later): the portal's own sign-in, not /api/Welcome.
    response = invitee.start()
    assert_html_page(response, 200)
    assert title_of(response) == "Your company is already set up"
    assert action_href(response) == "https://my.rconnect.example/"
    assert "Sign in to My rConnect" in text_of(response)
    assert session_cookie(response) is None


def test_two_concurrent_submits_create_one_company(stack: Any, invite: Any, stored: Stored) -> None:
    invitee = signed_in(invite)
    values = invitee.company_form()
    results: list[requests.Response] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        barrier.wait()
        results.append(invitee.submit(values))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert [r.status_code for r in results] == [303, 303], [r.text[:1000] for r in results]
    assert all(r.headers["Location"] == f"{stack.base_url}/api/Welcome" for r in results)
    company = stored.company_of(invitee.id)
    assert len(stored.members(company["PartitionKey"])) == 1
    assert stored.actions(invitee.id).count("completed") == 1
    assert stored.invitation(invitee.id)["Status"] == "completed"


def test_with_a_redirect_url_the_welcome_page_leads_on_to_it(invite: Any, stored: Stored) -> None:
    # The welcome page is never skipped: its primary button is the invitation's redirectUrl.
    invitee = signed_in(invite, redirectUrl="https://portal.rconnect.example/start")
    page = invitee.company_page()
    form_action = re.search(r"form-action ([^;]+)", page.headers["Content-Security-Policy"])
    assert form_action and form_action.group(1).split() == ["'self'"]
    response = invitee.submit(form_of(page.text).values)
    assert response.status_code == 303 and response.headers["Location"].endswith("/api/Welcome")
    welcome = invitee.get(response.headers["Location"], cookie=invitee.cookie)
    assert 'id="go-to-portal" href="https://portal.rconnect.example/start"' in welcome.text
    assert stored.invitation(invitee.id)["Status"] == "completed"


def test_hostile_company_data_is_escaped(invite: Any, stored: Stored) -> None:
    hostile = '<script>alert("x")</script> AG'
    company = {
        "name": hostile,
        "street": 'Main "quoted" street 1',
        "postalCode": "8500",
        "city": "<img src=x onerror=alert(1)>",
        "country": "CH",
        "vatNumber": "CHE-123.456.789",
        "phone": "+41 52 123 45 67",
    }
    invitee = signed_in(invite, company=company, inviter={"name": "<b>Eve</b>", "organisation": "GFMS & Co"})
    page = invitee.company_page()
    assert_html_page(page, 200)
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "<b>Eve</b>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; AG" in page.text or "&lt;script&gt;alert(&quot;x&quot;)" in page.text
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page.text
    values = form_of(page.text).values
    assert values["name"] == hostile and values["street"] == company["street"] and values["city"] == company["city"]
    # Submitted as it is, stored as it is, and shown escaped on the welcome page.
    response = invitee.submit(values)
    assert response.status_code == 303
    company_row = stored.company_of(invitee.id)
    assert company_row["data"]["data"]["name"] == hostile
    welcome = invitee.get(response.headers["Location"], cookie=invitee.cookie)
    assert "<script>alert" not in welcome.text and "&lt;script&gt;" in welcome.text


# -- languages -------------------------------------------------------------------------------------


def test_french_invitation_shows_french_pages(api: Any, invite: Any) -> None:
    invitee = signed_in(invite, language="fr")
    page = invitee.company_page()
    assert_html_page(page, 200)
    assert '<html lang="fr">' in page.text
    assert "Check your company details" not in page.text and "Create company" not in page.text
    assert "Suisse" in page.text  # the country list in French
    revoked = invite(language="fr")
    assert api.post(f"/invitations/{revoked.id}/revoke").status_code == 200
    response = revoked.start()
    assert_html_page(response, 410)
    assert '<html lang="fr">' in response.text
    assert title_of(response) != "This invitation was withdrawn"


@pytest.mark.parametrize(
    ("language", "in_order"),
    [
        ("de", ["Afghanistan", "Ägypten", "Åland-Inseln", "Albanien", "Oman", "Österreich", "Pakistan"]),
        ("fr", ["Afrique du Sud", "Åland, Îles", "Albanie", "Dominique", "Égypte", "Équateur", "Espagne", "Estonie"]),
        ("it", ["Santa Sede (Stato della Città del Vaticano)", "São Tomé e Príncipe", "Senegal"]),
        ("es", ["Baréin", "Bélgica", "Belice", "Benín", "Bielorrusia"]),
        ("en", ["Costa Rica", "Côte d'Ivoire", "Croatia", "Cuba", "Curaçao", "Cyprus"]),
    ],
)
def test_countries_are_in_the_alphabetical_order_of_the_pages_language(invite: Any, language: str, in_order: list[str]) -> None:
    page = signed_in(invite, language=language).company_page()
    assert_html_page(page, 200)
    names = [html.unescape(name) for name in re.findall(r'<option value="[A-Z]{2}"[^>]*>([^<]+)</option>', page.text)]
    assert len(names) == 249
    positions = [names.index(name) for name in in_order]
    assert positions == sorted(positions), list(zip(in_order, positions, strict=False))
    if language == "de":
        assert positions[-2] == positions[-3] + 1 == positions[-1] - 1  # Österreich right between Oman and Pakistan
        assert names[-1] == "Zypern"


def test_pages_without_invitation_follow_accept_language(stack: Any) -> None:
    response = requests.get(
        f"{stack.base_url}/api/InviteUser",
        params={"invitationId": str(uuid.uuid4())},
        headers={"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert_html_page(response, 404)
    assert '<html lang="de">' in response.text


# -- admin consent (CASE 1), the parts a browser test does not take --------------------------------


def test_admin_consent_page_rejects_a_bad_tenant(stack: Any, invite: Any) -> None:
    invitee = invite()
    response = invitee.get("/api/AdminConsent", params={"invitationId": invitee.id, "tenant": "not a tenant<script>"})
    assert_html_page(response, 400)
    assert 'id="consent-url"' not in response.text
    assert "<script>" not in response.text
    ok = invitee.get("/api/AdminConsent", params={"invitationId": invitee.id})
    assert_html_page(ok, 200)
    link = re.search(r'id="consent-url" href="([^"]+)"', ok.text)
    assert link and html.unescape(link.group(1)).startswith(f"{stack.idp_url}/contoso.example/adminconsent?")


def test_admin_consent_callback_without_our_state_is_400(stack: Any, stored: Stored) -> None:
    for params in (
        {"admin_consent": "True", "tenant": str(uuid.uuid4())},
        {"admin_consent": "True", "tenant": str(uuid.uuid4()), "state": "forged"},
    ):
        response = requests.get(f"{stack.base_url}/api/AdminConsent/callback", params=params, allow_redirects=False, timeout=TIMEOUT)
        assert_html_page(response, 400)
        assert stored.consents(params["tenant"]) == []


def test_admin_declining_consent_is_recorded_and_explained(invite: Any, stored: Stored) -> None:
    invitee = invite()
    help_page = invitee.get("/api/AdminConsent", params={"invitationId": invitee.id, "tenant": "organizations"})
    assert_html_page(help_page, 200)
    consent_url = html.unescape(re.search(r'id="consent-url" href="([^"]+)"', help_page.text).group(1))  # type: ignore[union-attr]
    idp = invitee.idp()
    idp_page = idp.get(consent_url, timeout=TIMEOUT)
    assert idp_page.status_code == 200 and 'id="decline"' in idp_page.text
    form = form_of(idp_page.text)
    domain = f"declined-{uuid.uuid4().hex[:6]}.example"
    answer = idp.post(
        urljoin(idp_page.url, html.unescape(form.action or "")),
        data={**form.values, "admin_email": f"admin@{domain}", "decision": "decline"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302
    response = invitee.get(answer.headers["Location"])
    assert_html_page(response, 200)
    assert title_of(response) == "My rConnect was not approved"
    assert "AADSTS65004" in text_of(response)
    assert action_href(response) == f"{invitee.stack.base_url}/api/AdminConsent?invitationId={invitee.id}"
    [row] = stored.consents(tenant_guid(domain))
    assert row["Granted"] is False and "access_denied" in row["Error"] and row["InvitationId"] == invitee.id
