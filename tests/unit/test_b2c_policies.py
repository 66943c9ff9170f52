"""infra/b2c, checked offline: every policy file validates against Microsoft's policy schema and chains
as B2C loads them (Base ← Localization ← Extensions ← the relying parties), every reference resolves in
the policy's own chain, the pages a relying party's journey shows speak the five languages of the
invitations, work accounts' e-mail comes only from verified claims, and the ID token the relying party
issues has the shapes the app reads (fed through the app's own claim reader)."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from lxml import etree

from shared import routes
from shared.adapters.identity import user_from_claims
from shared.routes import Links
from tests.tools import ROOT

B2C = ROOT / "infra" / "b2c"
SCHEMA = B2C / "schema" / "TrustFrameworkPolicy_0.3.0.0.xsd"
NS = {"p": "http://schemas.microsoft.com/online/cpim/schemas/2013/06"}
FILES = sorted(p.name for p in B2C.glob("*.xml"))
BASE = "B2C_1A_TrustFrameworkBase"
CHAIN = [  # the starter pack's files and ours, in upload order: file, PolicyId, base PolicyId
    ("TrustFrameworkBase.xml", BASE, None),
    ("TrustFrameworkLocalization.xml", "B2C_1A_TrustFrameworkLocalization", BASE),
    ("TrustFrameworkExtensions.xml", "B2C_1A_TrustFrameworkExtensions", "B2C_1A_TrustFrameworkLocalization"),
    ("SignUpOrSignin.xml", "B2C_1A_SIGNUP_SIGNIN", "B2C_1A_TrustFrameworkExtensions"),
    ("SignUpInvitation.xml", "B2C_1A_SIGNUP_INVITATION", "B2C_1A_TrustFrameworkExtensions"),
]
LANGUAGES = {"en", "fr", "de", "it", "es"}  # the invitations' languages (shared/locales)
PASSWORD_SYMBOLS = re.compile(r"\(@ # .*\)")  # the password rule lists ' : ? ; as symbols, not as punctuation


@pytest.fixture(scope="module")
def policies() -> dict[str, ET.Element]:
    return {name: ET.parse(B2C / name).getroot() for name in FILES}


def chain(policies: dict[str, ET.Element], name: str) -> list[ET.Element]:
    """The policy and its bases, as B2C resolves it on upload (child first)."""
    by_id = {root.get("PolicyId"): root for root in policies.values()}
    roots = [policies[name]]
    while (base := roots[-1].find("p:BasePolicy/p:PolicyId", NS)) is not None:
        assert base.text in by_id, f"{name}: base {base.text} is not in infra/b2c"
        assert by_id[base.text] not in roots, f"{name}: the base policies loop"
        roots.append(by_id[base.text])
    return roots


def ids(roots: list[ET.Element], path: str, attribute: str = "Id") -> set[str]:
    # B2C matches claim, profile and transformation ids case-insensitively (the base itself mixes surName/surname).
    return {e.get(attribute, "").casefold() for root in roots for e in root.iterfind(path, NS)}


def relying_party_claims(policies: dict[str, ET.Element], name: str = "SignUpOrSignin.xml") -> dict[str, ET.Element]:
    rp = policies[name].find("p:RelyingParty/p:TechnicalProfile/p:OutputClaims", NS)
    assert rp is not None
    return {str(c.get("PartnerClaimType") or c.get("ClaimTypeReferenceId")): c for c in rp}


def pages_shown(roots: list[ET.Element]) -> set[str]:
    """The content definitions of the relying party's journey: its steps' pages and those of the technical
    profiles its claims exchanges run (a profile's metadata may come from any file of the chain)."""
    journey_id = roots[0].find("p:RelyingParty/p:DefaultUserJourney", NS)
    assert journey_id is not None
    journey = next(
        j
        for root in roots
        for j in root.iterfind(".//p:UserJourneys/p:UserJourney", NS)
        if j.get("Id", "").casefold() == journey_id.get("ReferenceId", "").casefold()
    )
    pages = {s.get("ContentDefinitionReferenceId", "") for s in journey.iterfind(".//p:OrchestrationStep", NS)} - {""}
    profiles = {e.get("TechnicalProfileReferenceId", "").casefold() for e in journey.iterfind(".//p:ClaimsExchange", NS)}
    for root in roots:
        for profile in root.iterfind(".//p:TechnicalProfiles/p:TechnicalProfile", NS):
            if profile.get("Id", "").casefold() in profiles:
                pages |= {i.text or "" for i in profile.iterfind("p:Metadata/p:Item[@Key='ContentDefinitionReferenceId']", NS)}
    return pages


def localized(roots: list[ET.Element]) -> dict[str, dict[str, dict[tuple[str, str, str], str]]]:
    """content definition -> language -> (ElementType, ElementId, StringId) -> text, over the chain."""
    resources = {r.get("Id"): r for root in roots for r in root.iterfind(".//p:Localization/p:LocalizedResources", NS)}
    result: dict[str, dict[str, dict[tuple[str, str, str], str]]] = {}
    for root in roots:
        for definition in root.iterfind(".//p:ContentDefinitions/p:ContentDefinition", NS):
            for reference in definition.iterfind("p:LocalizedResourcesReferences/p:LocalizedResourcesReference", NS):
                resource = resources.get(reference.get("LocalizedResourcesReferenceId"))
                assert resource is not None, reference.get("LocalizedResourcesReferenceId")
                strings = result.setdefault(definition.get("Id", ""), {}).setdefault(reference.get("Language", ""), {})
                for s in resource.iterfind("p:LocalizedStrings/p:LocalizedString", NS):
                    strings[(s.get("ElementType", ""), s.get("ElementId", ""), s.get("StringId", ""))] = s.text or ""
    return result


def test_policies_validate_against_the_b2c_schema() -> None:
    schema_document = etree.parse(str(SCHEMA))
    # The schema writes its URI patterns with .NET's ^...$ anchors; XSD patterns are anchored already and
    # read ^ and $ as plain characters, so libxml2 would refuse every ContentDefinition's DataUri.
    for pattern in schema_document.iterfind(".//{http://www.w3.org/2001/XMLSchema}pattern"):
        value = pattern.get("value")
        if value.startswith("^") and value.endswith("$"):
            pattern.set("value", value[1:-1])
    schema = etree.XMLSchema(schema_document)
    for name in FILES:
        assert schema.validate(etree.parse(str(B2C / name))), f"{name}: {schema.error_log}"


def test_policies_are_well_formed_and_chain_in_upload_order(policies: dict[str, ET.Element]) -> None:
    assert {name for name, _, _ in CHAIN} <= set(FILES)
    for name, policy_id, base_id in CHAIN:
        base = policies[name].find("p:BasePolicy/p:PolicyId", NS)
        assert (policies[name].get("PolicyId"), base.text if base is not None else None) == (policy_id, base_id)
    for name, root in policies.items():
        assert root.tag == f"{{{NS['p']}}}TrustFrameworkPolicy"
        policy_id = root.get("PolicyId", "")
        assert root.get("TenantId") == "yourtenant.onmicrosoft.com", name
        assert root.get("PublicPolicyUri") == f"http://yourtenant.onmicrosoft.com/{policy_id}", name
        assert chain(policies, name)[-1].get("PolicyId") == BASE, name
    assert len({root.get("PolicyId") for root in policies.values()}) == len(policies), "two files share a PolicyId"


@pytest.mark.parametrize("name", FILES)
def test_every_reference_resolves_in_the_policys_chain(policies: dict[str, ET.Element], name: str) -> None:
    roots = chain(policies, name)
    own = roots[:1]
    claims = ids(roots, ".//p:ClaimsSchema/p:ClaimType")
    profiles = ids(roots, ".//p:TechnicalProfiles/p:TechnicalProfile")
    transformations = ids(roots, ".//p:ClaimsTransformations/p:ClaimsTransformation")
    journeys = ids(roots, ".//p:UserJourneys/p:UserJourney")
    content = ids(roots, ".//p:ContentDefinitions/p:ContentDefinition")
    for tag in ("OutputClaim", "InputClaim", "PersistedClaim", "DisplayClaim"):
        assert ids(own, f".//p:{tag}", "ClaimTypeReferenceId") - {""} <= claims, tag
    assert ids(own, ".//p:ClaimsExchange", "TechnicalProfileReferenceId") <= profiles
    for tag in ("IncludeTechnicalProfile", "UseTechnicalProfileForSessionManagement", "ValidationTechnicalProfile"):
        assert ids(own, f".//p:{tag}", "ReferenceId") <= profiles, tag
    for tag in ("InputClaimsTransformation", "OutputClaimsTransformation"):
        assert ids(own, f".//p:{tag}", "ReferenceId") <= transformations, tag
    assert ids(own, ".//p:DefaultUserJourney", "ReferenceId") | ids(own, ".//p:Endpoint", "UserJourneyReferenceId") <= journeys
    assert ids(own, ".//p:OrchestrationStep", "ContentDefinitionReferenceId") - {""} <= content
    assert {(i.text or "").casefold() for i in own[0].iterfind(".//p:Metadata/p:Item[@Key='ContentDefinitionReferenceId']", NS)} <= content
    # A content definition without its own page (DataUri) overrides one of a base.
    for definition in own[0].iterfind(".//p:ContentDefinitions/p:ContentDefinition", NS):
        if definition.find("p:DataUri", NS) is None:
            assert definition.get("Id", "").casefold() in ids(roots[1:], ".//p:ContentDefinitions/p:ContentDefinition"), definition.get(
                "Id"
            )
    # Localized strings name claims that exist, in supported languages (their buttons: see the next test).
    supported = {e.text for root in roots for e in root.iterfind(".//p:Localization/p:SupportedLanguages/p:SupportedLanguage", NS)}
    resources = ids(roots, ".//p:Localization/p:LocalizedResources")
    for reference in own[0].iterfind(".//p:LocalizedResourcesReference", NS):
        assert reference.get("Language") in supported, reference.get("LocalizedResourcesReferenceId")
        assert reference.get("LocalizedResourcesReferenceId", "").casefold() in resources, reference.get("LocalizedResourcesReferenceId")
    for string in own[0].iterfind(".//p:LocalizedString[@ElementType='ClaimType']", NS):
        assert string.get("ElementId", "").casefold() in claims, string.get("ElementId")
    # The sign-in page's buttons name exchanges of the same journey; steps are numbered 1..N.
    for journey in own[0].iterfind(".//p:UserJourney", NS):
        journey_exchanges = {e.get("Id") for e in journey.iterfind(".//p:ClaimsExchange", NS)}
        for selection in journey.iterfind(".//p:ClaimsProviderSelection", NS):
            assert (selection.get("TargetClaimsExchangeId") or selection.get("ValidationClaimsExchangeId")) in journey_exchanges
        orders = [int(s.get("Order", "0")) for s in journey.iterfind(".//p:OrchestrationStep", NS)]
        assert orders == list(range(1, len(orders) + 1))


RELYING_PARTIES = [name for name in FILES if ET.parse(B2C / name).getroot().find("p:RelyingParty", NS) is not None]


@pytest.mark.parametrize("name", RELYING_PARTIES)
def test_every_page_a_relying_party_shows_speaks_the_invitations_languages(policies: dict[str, ET.Element], name: str) -> None:
    roots = chain(policies, name)
    supported = {e.text for root in roots for e in root.iterfind(".//p:Localization/p:SupportedLanguages/p:SupportedLanguage", NS)}
    assert supported == LANGUAGES  # so B2C's own strings (error page, code e-mail) follow ui_locales too
    texts = localized(roots)
    shown = pages_shown(roots)
    assert "api.signuporsignin" in shown and shown & {"api.localaccountsignup", "api.localaccountsignup.invited"}
    # An identity provider's button is localized by the id of its claims exchange, which B2C looks up at
    # render time in the relying party's chain (the journey may live below the localization file).
    exchanges = ids(roots, ".//p:ClaimsExchange")
    for languages in texts.values():
        for element_type, _, string_id in languages.get("en", {}):
            assert element_type != "ClaimsProvider" or string_id.casefold() in exchanges, string_id
    for page in shown:
        assert set(texts.get(page, {})) == LANGUAGES, page
        english = texts[page]["en"]
        for language, translated in texts[page].items():
            assert set(translated) == set(english), f"{page}.{language} lacks or adds {set(translated) ^ set(english)}"
            for key, text in translated.items():
                assert text.strip(), (page, language, key)
                assert re.findall(r"\{\d\}", text) == re.findall(r"\{\d\}", english[key]), (page, language, key)


def test_pages_carry_the_products_name_and_each_languages_typography(policies: dict[str, ET.Element]) -> None:
    texts = localized(chain(policies, "SignUpOrSignin.xml"))
    for language in LANGUAGES:
        assert "My rConnect" in texts["api.signuporsignin"][language][("UxElement", "", "heading")]
        assert "My rConnect" in texts["api.localaccountsignup"][language][("UxElement", "", "initial_intro")]
    for page in texts.values():
        for language in ("fr", "it"):
            for text in page[language].values():
                assert "'" not in PASSWORD_SYMBOLS.sub("", text), f"{language}: typographic apostrophe ’ in {text!r}"
        for text in page["fr"].values():
            # French: a no-break space before : ; ? ! and inside « », as the stand-in's catalog has it.
            words = PASSWORD_SYMBOLS.sub("", text)
            assert not re.search("(?<!\u00a0)[:;?!»]|«(?!\u00a0)", words), text
        for text in page["de"].values():
            assert "«" not in text, f"de: „…“ quotes in {text!r}"


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
        },
        "b2c-custom-policy",
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
        },
        "b2c-custom-policy",
    )
    assert (work.account_type, work.email, work.home_tenant_id) == ("work", "ben@fabrikam.example", tenant)


def test_the_policy_name_matches_the_deployment_default() -> None:
    main = (ROOT / "infra" / "main.bicep").read_text(encoding="utf-8")
    assert "param b2cUserFlow string = 'B2C_1A_SIGNUP_SIGNIN'" in main
    assert Path(B2C / "SignUpOrSignin.xml").read_text(encoding="utf-8").count('PolicyId="B2C_1A_SIGNUP_SIGNIN"') == 1


STAND_IN = ROOT / "tools" / "idp" / "i18n.mjs"
SAME_AS_THE_STAND_IN = {  # (content definition, ElementType, ElementId, StringId): the stand-in's text key
    ("api.signuporsignin", "ClaimType", "signInName", "DisplayName"): "emailLabel",
    ("api.signuporsignin", "ClaimType", "password", "DisplayName"): "passwordLabel",
    ("api.signuporsignin", "UxElement", "", "local_intro_generic"): "signInIntro",
    ("api.signuporsignin", "UxElement", "", "social_intro"): "workHeading",
    ("api.signuporsignin", "ClaimsProvider", "", "EntraWorkAccountExchange"): "workButton",
    ("api.signuporsignin", "UxElement", "", "forgotpassword_link"): "forgotPassword",
    ("api.signuporsignin", "UxElement", "", "createaccount_intro"): "noAccount",
    ("api.signuporsignin", "UxElement", "", "createaccount_one_link"): "signUpNow",
    ("api.signuporsignin", "UxElement", "", "button_signin"): "signInButton",
    ("api.signuporsignin", "UxElement", "", "requiredField_password"): "errPasswordMissing",
    ("api.signuporsignin", "UxElement", "", "invalid_generic"): "errEmail",
    ("api.signuporsignin", "ErrorMessage", "", "UserMessageIfInvalidPassword"): "errPasswordWrong",
    ("api.localaccountsignup", "ClaimType", "newPassword", "DisplayName"): "newPasswordLabel",
    ("api.localaccountsignup", "ClaimType", "newPassword", "PatternHelpText"): "passwordRules",
    ("api.localaccountsignup", "ClaimType", "reenterPassword", "DisplayName"): "confirmPasswordLabel",
    ("api.localaccountsignup", "ClaimType", "givenName", "DisplayName"): "givenNameLabel",
    ("api.localaccountsignup", "ClaimType", "surname", "DisplayName"): "surnameLabel",
    ("api.localaccountsignup", "UxElement", "", "error_passwordEntryMismatch"): "errPasswordMismatch",
    ("api.localaccountsignup", "UxElement", "", "button_cancel"): "cancel",
    ("api.localaccountsignup", "UxElement", "", "ver_but_send"): "sendCode",
    ("api.localaccountsignup", "UxElement", "", "ver_but_verify"): "verifyCode",
    ("api.localaccountsignup", "UxElement", "", "ver_but_resend"): "sendNewCode",
    ("api.localaccountsignup", "UxElement", "", "ver_input"): "codeLabel",
    ("api.localaccountsignup", "UxElement", "", "ver_fail_retry"): "errCodeWrong",
    ("api.localaccountsignup", "UxElement", "", "ver_fail_code_expired"): "errCodeExpired",
    ("api.localaccountsignup", "UxElement", "", "ver_fail_no_retry"): "errCodeTooMany",
    ("api.localaccountsignup", "UxElement", "", "ver_fail_throttled"): "errTooManyCodes",
    ("api.localaccountsignup", "ErrorMessage", "", "UserMessageIfClaimsPrincipalAlreadyExists"): "errUserExists",
}


def stand_in_catalogs() -> dict[str, dict[str, str]]:
    """tools/idp/i18n.mjs's catalogs, read as its text has them: `  fr: {` then `    key: 'text',` lines."""
    source = STAND_IN.read_text(encoding="utf-8")
    symbols = re.search(r"^const PASSWORD_SYMBOLS = (['\"])(.*)\1;$", source, re.MULTILINE)
    assert symbols is not None
    catalogs: dict[str, dict[str, str]] = {}
    language = ""
    for line in source.splitlines():
        if opening := re.fullmatch(r"  ([a-z]{2}): \{", line):
            language = opening[1]
            catalogs[language] = {}
        elif language and (entry := re.fullmatch(r"    (\w+): (['\"`])(.*)\2,", line)):
            text = entry[3].replace("${PASSWORD_SYMBOLS}", symbols[2])
            catalogs[language][entry[1]] = re.sub(r"\\(.)", r"\1", text)  # the JS string's escapes
        elif line.startswith("  }"):
            language = ""
    return catalogs


def test_the_pages_say_what_the_local_stand_in_says(policies: dict[str, ET.Element]) -> None:
    texts = localized(chain(policies, "SignUpOrSignin.xml"))
    catalogs = stand_in_catalogs()
    assert set(catalogs) == LANGUAGES

    def plain(text: str) -> str:  # both apply French typography their own way: compare the words
        return re.sub(r"[\u00a0\u202f ]+", " ", text)

    for (page, *key), stand_in_key in SAME_AS_THE_STAND_IN.items():
        for language in LANGUAGES:
            policy_text = texts[page][language][(key[0], key[1], key[2])]
            assert plain(policy_text) == plain(catalogs[language][stand_in_key]), (page, language, key[2])


def profile(policies: dict[str, ET.Element], profile_id: str) -> ET.Element:
    found = policies["TrustFrameworkExtensions.xml"].find(f".//p:TechnicalProfile[@Id='{profile_id}']", NS)
    assert found is not None, profile_id
    return found


def metadata_of(element: ET.Element) -> dict[str | None, str | None]:
    return {i.get("Key"): i.text for i in element.iterfind("p:Metadata/p:Item", NS)}


def claims_of(element: ET.Element, kind: str) -> list[str | None]:
    return [c.get("ClaimTypeReferenceId") for c in element.iterfind(f"p:{kind}/p:{kind[:-1]}", NS)]


def test_the_invitation_policy_validates_the_apps_hint_at_the_apps_routes(policies: dict[str, ET.Element]) -> None:
    hint = profile(policies, "IdTokenHint_ExtractClaims")
    metadata = metadata_of(hint)
    base = "https://yourapp.example"  # PUBLIC_BASE_URL's placeholder
    assert metadata["METADATA"] == f"{base}{routes.path(routes.HINT_METADATA)}"
    assert metadata["issuer"] == f"{base}{routes.path(routes.HINT)}" == Links(base).hint_issuer()
    assert metadata["IdTokenAudience"] == "InvitationsAppClientId"  # B2C_CLIENT_ID, the hint's aud
    # The hint's address is its own claim: `email` stays for verified sources (work accounts) only.
    assert [(c.get("ClaimTypeReferenceId"), c.get("PartnerClaimType")) for c in hint.iterfind("p:OutputClaims/p:OutputClaim", NS)] == [
        ("invitedEmail", "email")
    ]
    journey = policies["TrustFrameworkExtensions.xml"].find(".//p:UserJourney[@Id='SignUpInvitation']", NS)
    assert journey is not None
    first = journey.find("p:OrchestrationSteps/p:OrchestrationStep", NS)
    assert first is not None and (first.get("Type"), first.get("CpimIssuerTechnicalProfileReferenceId")) == (
        "GetClaims",
        "IdTokenHint_ExtractClaims",
    )
    rp = policies["SignUpInvitation.xml"].find("p:RelyingParty/p:DefaultUserJourney", NS)
    assert rp is not None and rp.get("ReferenceId") == "SignUpInvitation"
    assert relying_party_claims(policies, "SignUpInvitation.xml").keys() == relying_party_claims(policies).keys()


def test_invited_sign_up_shows_the_address_read_only_asks_password_and_terms_and_no_code(policies: dict[str, ET.Element]) -> None:
    sign_up = profile(policies, "LocalAccountSignUpWithInvitedEmail")
    assert metadata_of(sign_up)["EnforceEmailVerification"] == "false"
    shown = claims_of(sign_up, "OutputClaims")
    assert {"invitedEmail", "newPassword", "reenterPassword", "termsOfUseConsent"} <= set(shown)
    assert "email" not in shown, "no field where another address could be typed"
    schema = {c.get("Id"): c for c in policies["TrustFrameworkExtensions.xml"].iterfind(".//p:ClaimsSchema/p:ClaimType", NS)}
    assert schema["invitedEmail"].findtext("p:UserInputType", namespaces=NS) == "Readonly"
    assert schema["termsOfUseConsent"].findtext("p:UserInputType", namespaces=NS) == "CheckboxMultiSelect"
    required = {c.get("ClaimTypeReferenceId") for c in sign_up.iterfind("p:OutputClaims/p:OutputClaim[@Required='true']", NS)}
    assert {"invitedEmail", "newPassword", "termsOfUseConsent"} <= required
    texts = localized(chain(policies, "SignUpInvitation.xml"))["api.localaccountsignup.invited"]
    for language in LANGUAGES:
        for claim in ("invitedEmail", "termsOfUseConsent"):
            assert texts[language][("ClaimType", claim, "DisplayName")].strip(), (language, claim)


def test_invited_sign_in_is_prefilled_and_refuses_another_address_before_the_password(policies: dict[str, ET.Element]) -> None:
    sign_in = profile(policies, "SelfAsserted-LocalAccountSignin-Invited")
    assert metadata_of(sign_in)["SignUpTarget"] == "SignUpWithInvitedEmailExchange"
    transforms = [t.get("ReferenceId") for t in sign_in.iterfind(".//p:InputClaimsTransformation", NS)]
    assert transforms == ["CopyInvitedEmailToSignInName"]
    validations = [v.get("ReferenceId") for v in sign_in.iterfind(".//p:ValidationTechnicalProfile", NS)]
    assert validations == ["Invitation-AssertSignInNameIsInvited", "login-NonInteractive"]
    assertion = policies["TrustFrameworkExtensions.xml"].find(".//p:ClaimsTransformation[@Id='AssertSignInNameIsInvitedEmail']", NS)
    assert assertion is not None and assertion.get("TransformationMethod") == "AssertStringClaimsAreEqual"
    assert claims_of(assertion, "InputClaims") == ["signInName", "invitedEmail"]
