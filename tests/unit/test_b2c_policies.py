"""infra/b2c, checked offline: the four policy files are well-formed and chain as B2C loads them
(Base ← Localization ← Extensions ← SignUpOrSignin), every reference resolves somewhere in the
chain, work accounts' e-mail comes only from verified claims, and the ID token the relying party
issues has the shapes the app reads (fed through the app's own claim reader)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from shared.adapters.identity import user_from_claims
from tests.tools import ROOT

B2C = ROOT / "infra" / "b2c"
NS = {"p": "http://schemas.microsoft.com/online/cpim/schemas/2013/06"}
CHAIN = [  # file, PolicyId, base PolicyId
    ("TrustFrameworkBase.xml", "B2C_1A_TrustFrameworkBase", None),
    ("TrustFrameworkLocalization.xml", "B2C_1A_TrustFrameworkLocalization", "B2C_1A_TrustFrameworkBase"),
    ("TrustFrameworkExtensions.xml", "B2C_1A_TrustFrameworkExtensions", "B2C_1A_TrustFrameworkLocalization"),
    ("SignUpOrSignin.xml", "B2C_1A_SIGNUP_SIGNIN", "B2C_1A_TrustFrameworkExtensions"),
]


@pytest.fixture(scope="module")
def policies() -> dict[str, ET.Element]:
    return {name: ET.parse(B2C / name).getroot() for name, _, _ in CHAIN}


def ids(policies: dict[str, ET.Element], path: str, attribute: str = "Id") -> set[str]:
    # B2C matches claim, profile and transformation ids case-insensitively (the base itself mixes surName/surname).
    return {e.get(attribute, "").casefold() for root in policies.values() for e in root.iterfind(path, NS)}


def relying_party_claims(policies: dict[str, ET.Element]) -> dict[str, ET.Element]:
    rp = policies["SignUpOrSignin.xml"].find("p:RelyingParty/p:TechnicalProfile/p:OutputClaims", NS)
    assert rp is not None
    return {str(c.get("PartnerClaimType") or c.get("ClaimTypeReferenceId")): c for c in rp}


def test_policies_are_well_formed_and_chain_in_upload_order(policies: dict[str, ET.Element]) -> None:
    assert sorted(p.name for p in B2C.glob("*.xml")) == sorted(name for name, _, _ in CHAIN)
    for name, policy_id, base_id in CHAIN:
        root = policies[name]
        assert root.tag == f"{{{NS['p']}}}TrustFrameworkPolicy"
        assert root.get("PolicyId") == policy_id and root.get("TenantId") == "yourtenant.onmicrosoft.com"
        assert root.get("PublicPolicyUri") == f"http://yourtenant.onmicrosoft.com/{policy_id}"
        base = root.find("p:BasePolicy/p:PolicyId", NS)
        assert (base.text if base is not None else None) == base_id


def test_every_reference_resolves_in_the_chain(policies: dict[str, ET.Element]) -> None:
    claims = ids(policies, ".//p:ClaimsSchema/p:ClaimType")
    profiles = ids(policies, ".//p:TechnicalProfiles/p:TechnicalProfile")
    transformations = ids(policies, ".//p:ClaimsTransformations/p:ClaimsTransformation")
    journeys = ids(policies, ".//p:UserJourneys/p:UserJourney")
    content = ids(policies, ".//p:ContentDefinitions/p:ContentDefinition")
    assert ids(policies, ".//p:OutputClaim", "ClaimTypeReferenceId") <= claims
    assert ids(policies, ".//p:InputClaim", "ClaimTypeReferenceId") <= claims
    assert ids(policies, ".//p:PersistedClaim", "ClaimTypeReferenceId") <= claims
    assert ids(policies, ".//p:ClaimsExchange", "TechnicalProfileReferenceId") <= profiles
    for tag in ("IncludeTechnicalProfile", "UseTechnicalProfileForSessionManagement", "ValidationTechnicalProfile"):
        assert ids(policies, f".//p:{tag}", "ReferenceId") <= profiles, tag
    for tag in ("InputClaimsTransformation", "OutputClaimsTransformation"):
        assert ids(policies, f".//p:{tag}", "ReferenceId") <= transformations, tag
    assert ids(policies, ".//p:DefaultUserJourney", "ReferenceId") <= journeys
    assert ids(policies, ".//p:OrchestrationStep", "ContentDefinitionReferenceId") - {""} <= content
    # The sign-in page's buttons name exchanges of the same journey; steps are numbered 1..N.
    for journey in policies["TrustFrameworkExtensions.xml"].iterfind(".//p:UserJourney", NS):
        exchanges = {e.get("Id") for e in journey.iterfind(".//p:ClaimsExchange", NS)}
        for selection in journey.iterfind(".//p:ClaimsProviderSelection", NS):
            assert (selection.get("TargetClaimsExchangeId") or selection.get("ValidationClaimsExchangeId")) in exchanges
        orders = [int(s.get("Order", "0")) for s in journey.iterfind(".//p:OrchestrationStep", NS)]
        assert orders == list(range(1, len(orders) + 1))


def test_work_accounts_email_comes_only_from_verified_claims(policies: dict[str, ET.Element]) -> None:
    extensions = policies["TrustFrameworkExtensions.xml"]
    entra = extensions.find(".//p:TechnicalProfile[@Id='AADCommon-OpenIdConnect']", NS)
    assert entra is not None
    metadata = {i.get("Key"): i.text for i in entra.iterfind("p:Metadata/p:Item", NS)}
    assert metadata["METADATA"] == "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"
    assert metadata["ValidTokenIssuerPrefixes"] == "https://login.microsoftonline.com/"  # any customer tenant
    mapped = {c.get("PartnerClaimType"): c.get("ClaimTypeReferenceId") for c in entra.iterfind("p:OutputClaims/p:OutputClaim", NS)}
    assert mapped["email"] == "entraEmail", "Entra's email is unverified on its own: never map it straight to email"
    assert mapped["xms_edov"] == "emailDomainOwnerVerified" and mapped["upn"] == "entraUpn"
    assert mapped["iss"] == "identityProvider"
    # The step that copies entraEmail to email runs only when xms_edov is True.
    step = next(
        s
        for s in extensions.iterfind(".//p:OrchestrationStep", NS)
        if s.find(".//p:ClaimsExchange[@TechnicalProfileReferenceId='WorkAccount-EmailFromVerifiedEmail']", NS) is not None
    )
    conditions = [
        [v.text for v in p.iterfind("p:Value", NS)] + [p.get("Type"), p.get("ExecuteActionsIf")]
        for p in step.iterfind(".//p:Precondition", NS)
    ]
    assert ["emailDomainOwnerVerified", "True", "ClaimEquals", "false"] in conditions


def test_relying_party_issues_the_claims_the_app_reads(policies: dict[str, ET.Element]) -> None:
    claims = relying_party_claims(policies)
    assert {"sub", "oid", "name", "emails", "email", "upn", "idp", "tfp"} <= set(claims)
    assert claims["idp"].get("DefaultValue") == "LocalAccount"
    assert claims["tfp"].get("AlwaysUseDefaultValue") == "true"
    # The two token shapes, as the app's own reader sees them.
    object_id, tenant = str(uuid.uuid4()), str(uuid.uuid4())
    local = user_from_claims(
        {
            "sub": object_id,
            "oid": object_id,
            "name": "Anna",
            "emails": ["anna@contoso.example"],
            "idp": "LocalAccount",
            "tfp": "B2C_1A_SIGNUP_SIGNIN",
        }
    )
    assert (local.account_type, local.email, local.object_id) == ("local", "anna@contoso.example", object_id)
    work = user_from_claims(
        {
            "sub": object_id,
            "oid": object_id,
            "name": "Ben",
            "email": "ben@fabrikam.example",
            "upn": "ben@fabrikam.example",
            "idp": f"https://login.microsoftonline.com/{tenant}/v2.0",
            "tfp": "B2C_1A_SIGNUP_SIGNIN",
        }
    )
    assert (work.account_type, work.email, work.home_tenant_id) == ("work", "ben@fabrikam.example", tenant)


def test_the_policy_name_matches_the_deployment_default() -> None:
    main = (ROOT / "infra" / "main.bicep").read_text(encoding="utf-8")
    assert "param b2cUserFlow string = 'B2C_1A_SIGNUP_SIGNIN'" in main
    assert Path(B2C / "SignUpOrSignin.xml").read_text(encoding="utf-8").count('PolicyId="B2C_1A_SIGNUP_SIGNIN"') == 1
