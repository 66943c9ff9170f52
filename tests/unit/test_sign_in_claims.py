"""Who signed in, from the claim shapes B2C sends: its user flows and our custom policy (infra/b2c)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.identity import user_from_claims

TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
COMMON = {
    "sub": "5a1c0f4e-0000-4000-8000-000000000001",
    "oid": "5a1c0f4e-0000-4000-8000-000000000001",
    "name": "Anna Muster",
    "tfp": "B2C_1A_signup_signin",
    "ver": "1.0",
}


@pytest.mark.parametrize(
    ("claims", "account_type", "email", "home_tenant"),
    [
        # a local account from our custom policy: it says so in `idp`
        ({**COMMON, "emails": ["anna@contoso.example"], "idp": "LocalAccount"}, "local", "anna@contoso.example", None),
        # a local account from a B2C user flow: no `idp` at all
        ({**COMMON, "emails": ["anna@contoso.example"]}, "local", "anna@contoso.example", None),
        # a work account federated from Entra ID: the verified mailbox in `email`, the home tenant in `idp`
        (
            {
                **COMMON,
                "email": "anna@contoso.example",
                "upn": "anna@contoso.example",
                "idp": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            },
            "work",
            "anna@contoso.example",
            TENANT,
        ),
        ({**COMMON, "email": "anna@contoso.example", "idp": f"https://sts.windows.net/{TENANT}/"}, "work", "anna@contoso.example", TENANT),
        # a social account
        ({**COMMON, "emails": ["anna@gmail.example"], "idp": "google.com"}, "social", "anna@gmail.example", None),
    ],
    ids=["custom-policy-local", "user-flow-local", "work-v2", "work-v1", "social"],
)
def test_account_type_from_b2c_claims(claims: dict[str, Any], account_type: str, email: str, home_tenant: str | None) -> None:
    user = user_from_claims(claims)
    assert user.account_type == account_type
    assert user.email == email
    assert user.home_tenant_id == home_tenant
    assert user.object_id == COMMON["oid"] and user.name == "Anna Muster"
