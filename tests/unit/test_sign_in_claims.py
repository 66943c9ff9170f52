"""Who signed in, from each platform's ID token: one table per platform and account kind → SignedInUser.

Shapes as Microsoft documents them: B2C user flows (`emails`, no `idp` for local accounts; `idp` the
provider for federated ones), our B2C custom policy (infra/b2c: `idp: LocalAccount`, a work account's
verified mailbox in `email` and its Entra issuer in `idp`), and Entra External ID v2.0 tokens (`tid` the
external tenant, the `email` optional claim, `idp` absent for e-mail + password and e-mail OTP accounts,
`google.com` for a social one), and the Entra ID v2.0 tokens of External ID's CASE 1 (decision 0019).
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.identity import entra_work_user, user_from_claims
from shared.domain.platforms import IdentityPlatform
from shared.domain.sign_in_failures import failure_kind

HOME_TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
EXTERNAL_TENANT = "9b0a2c64-7b1d-4c3e-8f5a-1d2e3f4a5b6c"
OBJECT_ID = "5a1c0f4e-0000-4000-8000-000000000001"
B2C = {"sub": OBJECT_ID, "oid": OBJECT_ID, "name": "Anna Muster", "ver": "1.0"}
EXTERNAL_ID = {
    "iss": f"https://{EXTERNAL_TENANT}.ciamlogin.com/{EXTERNAL_TENANT}/v2.0",
    "tid": EXTERNAL_TENANT,
    "sub": "kX2n0c1g3m-pairwise-subject",
    "oid": OBJECT_ID,
    "name": "Anna Muster",
    "ver": "2.0",
}
ENTRA_V2 = f"https://login.microsoftonline.com/{HOME_TENANT}/v2.0"

# (platform, claims, account type, e-mail, home tenant)
CASES: dict[str, tuple[IdentityPlatform, dict[str, Any], str, str, str | None]] = {
    "user-flow-local": (
        "b2c-user-flow",
        {**B2C, "tfp": "B2C_1_signupsignin", "emails": ["anna@contoso.example"]},
        "local",
        "anna@contoso.example",
        None,
    ),
    "user-flow-social": (
        "b2c-user-flow",
        {**B2C, "tfp": "B2C_1_signupsignin", "emails": ["anna@gmail.example"], "idp": "google.com"},
        "social",
        "anna@gmail.example",
        None,
    ),
    "user-flow-work": (
        "b2c-user-flow",
        {**B2C, "tfp": "B2C_1_signupsignin", "emails": ["anna@contoso.example"], "idp": f"https://sts.windows.net/{HOME_TENANT}/"},
        "work",
        "anna@contoso.example",
        HOME_TENANT,
    ),
    "custom-policy-local": (
        "b2c-custom-policy",
        {**B2C, "tfp": "B2C_1A_SIGNUP_SIGNIN", "emails": ["anna@contoso.example"], "idp": "LocalAccount"},
        "local",
        "anna@contoso.example",
        None,
    ),
    "custom-policy-work": (
        "b2c-custom-policy",
        {**B2C, "tfp": "B2C_1A_SIGNUP_SIGNIN", "email": "anna@contoso.example", "upn": "anna@contoso.example", "idp": ENTRA_V2},
        "work",
        "anna@contoso.example",
        HOME_TENANT,
    ),
    "external-id-password": ("external-id", {**EXTERNAL_ID, "email": "anna@contoso.example"}, "local", "anna@contoso.example", None),
    "external-id-otp": (
        "external-id",
        {**EXTERNAL_ID, "preferred_username": "anna@contoso.example", "idp": EXTERNAL_ID["iss"]},
        "local",
        "anna@contoso.example",
        None,
    ),
    "external-id-otp-guest": (
        "external-id",
        {**EXTERNAL_ID, "email": "anna@contoso.example", "idp": "mail"},
        "local",
        "anna@contoso.example",
        None,
    ),
    "external-id-federated-entra": (
        "external-id",
        {**EXTERNAL_ID, "email": "anna@contoso.example", "idp": ENTRA_V2},
        "work",
        "anna@contoso.example",
        HOME_TENANT,
    ),
    "external-id-social": (
        "external-id",
        {**EXTERNAL_ID, "email": "anna@gmail.example", "idp": "google.com"},
        "social",
        "anna@gmail.example",
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_platform_and_account_kind(case: str) -> None:
    platform, claims, account_type, email, home_tenant = CASES[case]
    user = user_from_claims(claims, platform)
    assert (user.account_type, user.email, user.home_tenant_id) == (account_type, email, home_tenant)
    assert user.object_id == OBJECT_ID and user.name == "Anna Muster"


def test_external_ids_own_tenant_is_not_a_work_accounts_home() -> None:
    # `tid` names the external tenant for every account: only `idp` tells a federated work account.
    user = user_from_claims({**EXTERNAL_ID, "email": "anna@contoso.example"}, "external-id")
    assert user.home_tenant_id is None and user.account_type == "local"


# External ID's CASE 1: the app signs the work account in at Entra ID's multi-tenant endpoint (v2.0 claims).
ENTRA_WORK = {"iss": ENTRA_V2, "tid": HOME_TENANT, "oid": OBJECT_ID, "sub": "pairwise", "name": "Anna Muster", "ver": "2.0"}


@pytest.mark.parametrize(
    ("claims", "email"),
    [
        (
            {**ENTRA_WORK, "email": "anna@contoso.example", "xms_edov": True, "preferred_username": "x@contoso.example"},
            "anna@contoso.example",
        ),
        # the domain owner did not verify `email` (any tenant admin can set it): the upn, never preferred_username
        ({**ENTRA_WORK, "email": "ceo@fabrikam.example", "xms_edov": False, "upn": "anna@contoso.example"}, "anna@contoso.example"),
        ({**ENTRA_WORK, "email": "ceo@fabrikam.example", "preferred_username": "ceo@fabrikam.example"}, ""),
    ],
    ids=["verified-email", "unverified-email-upn", "neither"],
)
def test_a_work_account_signed_in_at_entra_id(claims: dict[str, Any], email: str) -> None:
    user = entra_work_user(claims)
    assert (user.account_type, user.email, user.home_tenant_id, user.object_id) == ("work", email, HOME_TENANT, OBJECT_ID)
    assert user.identity_provider == ENTRA_V2


WRAPPED_CONSENT = (
    "AADB2C90273: An invalid response was received : 'Error: access_denied, "
    "Error Description: AADSTS65001: The user or administrator has not consented'"
)


@pytest.mark.parametrize(
    ("platform", "description", "kind"),
    [
        ("b2c-custom-policy", "AADB2C90091: The user has cancelled entering self-asserted information.", "cancelled"),
        ("b2c-user-flow", "AADB2C90118: The user has forgotten their password.", "forgot-password"),
        ("b2c-custom-policy", WRAPPED_CONSENT, "consent-required"),
        ("b2c-custom-policy", "AADSTS65001: The user or administrator has not consented", "consent-required"),
        ("b2c-custom-policy", "AADB2C90273: An invalid response was received", None),
        ("external-id", "AADSTS65001: The user or administrator has not consented", "consent-required"),
        ("external-id", "AADSTS90094: The grant requires admin permission.", "consent-required"),
        ("external-id", "AADSTS65004: User declined to consent to access the app.", "consent-required"),
        ("external-id", "AADB2C90118: not a code External ID sends", None),
        ("external-id", "AADSTS50020: User account from identity provider does not exist in tenant.", None),
    ],
)
def test_each_platforms_error_codes(platform: IdentityPlatform, description: str, kind: str | None) -> None:
    assert failure_kind(platform, description) == kind
