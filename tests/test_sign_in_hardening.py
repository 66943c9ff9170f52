"""Sign-in as a red team tries it (issue 9), against the real stack.

- The signed-in address must be the invited mailbox: look-alikes that Unicode case-folding or
  compatibility mapping would merge (ß/ss, KELVIN SIGN, LONG S, fullwidth letters) are another
  account. The local B2C lets anyone sign in as any address, as an attacker's own tenant would.
- B2C relays upstream errors wrapped in AADB2C90273: the inner code decides the page.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import pytest

from tests.storage import Stored
from tests.support import Api
from tests.test_invitee_pages import Invitee, action_href, assert_html_page, page_kind, session_cookie
from tools.localstack.stack import LocalStack


def invite_as(api: Api, stack: LocalStack, address: str) -> Invitee:
    return Invitee(stack, api.invite(invitee={"email": address, "displayName": "Anna Keller"}))


# -- e-mail identity -------------------------------------------------------------------------------

LOOK_ALIKES = {
    # invited local part → the local part of the account that signs in
    "sharp s vs ss": ("strasse", "straße"),
    "ss vs sharp s": ("straße", "strasse"),
    "KELVIN SIGN": ("kelvin", "\u212aelvin"),
    "LONG S": ("ross", "ro\u017fs"),
    "fullwidth letter": ("anna", "\uff41nna"),
    "fullwidth digit": ("anna1", "anna\uff11"),
    "dotless i": ("irene", "\u0131rene"),
    "non-ASCII upper case": ("zoë", "ZOË"),
    "ligature": ("office", "o\ufb03ce"),
}


@pytest.mark.parametrize("case", list(LOOK_ALIKES))
def test_a_look_alike_address_is_another_account(api: Api, stack: LocalStack, stored: Stored, case: str) -> None:
    invited_local, signed_in_local = LOOK_ALIKES[case]
    tail = f".{uuid.uuid4().hex[:8]}@contoso.example"
    invitee = invite_as(api, stack, invited_local + tail)
    response = invitee.sign_in(email=signed_in_local + tail)
    assert_html_page(response, 403)
    assert page_kind(response) == "wrong-account"
    assert session_cookie(response) is None
    entity = stored.invitation(invitee.id)
    assert entity["Status"] == "pending" and entity["data"].get("accepted_by") is None
    assert "accepted" not in stored.actions(invitee.id)


@pytest.mark.parametrize(
    "invited, signed_in",
    [
        ("Anna.Keller.{u}@Contoso.Example", "anna.keller.{u}@contoso.example"),  # ASCII case is not identity
        ("anna.keller.{u}@contoso.example", "ANNA.KELLER.{u}@CONTOSO.EXAMPLE"),
        ("zoë.{u}@contoso.example", "zoë.{u}@contoso.example"),  # the same non-ASCII mailbox
    ],
)
def test_the_invited_mailbox_signs_in_whatever_its_ascii_case(
    api: Api, stack: LocalStack, stored: Stored, invited: str, signed_in: str
) -> None:
    u = uuid.uuid4().hex[:8]
    invitee = invite_as(api, stack, invited.format(u=u))
    response = invitee.sign_in(email=signed_in.format(u=u))
    assert response.status_code == 302 and response.headers["Location"].endswith("/api/CreateCompany"), response.text[:2000]
    assert stored.invitation(invitee.id)["Status"] == "accepted"


# -- B2C's wrapped upstream errors -----------------------------------------------------------------


def _wrapped(inner: str) -> str:
    return f"AADB2C90273: An invalid response was received : 'Error: access_denied, Error Description: {inner}'"


B2C_ERRORS = {
    "wrapped consent required": (_wrapped("AADSTS65001: The user or administrator has not consented."), 403, "consent-required"),
    "wrapped admin consent required": (
        _wrapped("AADSTS90094: An administrator of Contoso has not granted consent."),
        403,
        "consent-required",
    ),
    "wrapped user not in tenant": (
        _wrapped("AADSTS50020: User account from identity provider does not exist in tenant."),
        400,
        "sign-in-failed",
    ),
    "wrapped app not found": (_wrapped("AADSTS700016: Application with identifier 'x' was not found."), 400, "sign-in-failed"),
    "wrapped without inner code": ("AADB2C90273: An invalid response was received : 'Error: server_error'", 400, "sign-in-failed"),
    "bare consent required": ("AADSTS65001: The user or administrator has not consented.", 403, "consent-required"),
}


@pytest.mark.parametrize("case", list(B2C_ERRORS))
def test_b2c_errors_get_the_page_of_their_inner_code(stack: LocalStack, api: Api, stored: Stored, case: str) -> None:
    description, status, kind = B2C_ERRORS[case]
    invitee = Invitee(stack, api.invite())
    started = invitee.start()
    state = parse_qs(urlparse(started.headers["Location"]).query)["state"][0]
    response = invitee.get(
        f"{stack.base_url}/api/InviteUser/callback",
        cookie=invitee.cookie,
        params={"error": "access_denied", "error_description": description, "state": state},
    )
    assert_html_page(response, status)
    assert page_kind(response) == kind
    if kind == "consent-required":
        assert action_href(response) == f"{stack.base_url}/api/AdminConsent?invitationId={invitee.id}"
    else:
        assert action_href(response) == invitee.invitation["inviteRedeemUrl"]
    assert stored.invitation(invitee.id)["Status"] == "pending"
