"""infra/ (Bicep), checked offline: checkov finds nothing it is not told why to skip, the files parse
(pycep-parser), and the Function App's app settings are exactly the settings the app reads
(`shared/settings.py`), with secrets only through Key Vault references and identities, no keys."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import SecretStr

from shared.settings import Settings, env_name
from tests.tools import ROOT, run_tool

INFRA = ROOT / "infra"

# Settings the app can read that a deployment deliberately leaves unset, and why.
NOT_SET_IN_AZURE = {
    "STORAGE": "a connection string carries an account key; Azure uses STORAGE__* with the managed identity",
    "ACS_CONNECTION_STRING": "an access key; Azure uses ACS_ENDPOINT with the managed identity",
    "OUTBOX_DIR": "the local outbox is for development only",
    "WEBSITE_AUTH_ENABLED": "the platform sets it when App Service Authentication is on",
    "EMAIL_QUOTA_MINUTE_SECONDS": "a minute is 60 s in Azure; tests shorten the quota's window",
}
# Settings for the Functions host and its bindings (not the app's Settings object).
HOST_SETTINGS = {
    "AzureWebJobsStorage__blobServiceUri",
    "AzureWebJobsStorage__queueServiceUri",
    "AzureWebJobsStorage__tableServiceUri",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    "PYTHON_THREADPOOL_THREAD_COUNT",
    "SWEEP_SCHEDULE",  # the sweeper's timer schedule (%SWEEP_SCHEDULE% in invite_user/sweeper.py)
}
WORK_QUEUES = ("invitation-email", "company-create", "invitation-events", "invitation-batch")

PARSE = """
import json, sys
from pathlib import Path
from pycep import BicepParser
print(json.dumps({p: BicepParser().parse(text=Path(p).read_text()) for p in sys.argv[1:]}, default=str))
"""


@pytest.fixture(scope="module")
def bicep() -> dict[str, Any]:
    result = run_tool("python", "-c", PARSE, "infra/main.bicep", "infra/resources.bicep")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.fixture(scope="module")
def resources(bicep: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = bicep["infra/resources.bicep"]["resources"]
    return found


@pytest.fixture(scope="module")
def app_settings(resources: dict[str, Any]) -> dict[str, Any]:
    config = resources["appSettings"]
    assert config["type"] == "Microsoft.Web/sites/config" and config["config"]["name"] == "appsettings"
    settings: dict[str, Any] = config["config"]["properties"]
    return settings


def test_checkov_passes_with_every_skip_explained_and_used() -> None:
    result = run_tool("checkov", "--directory", "infra", "--framework", "bicep", "--skip-download", "--output", "json")
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    failed = [(c["check_id"], c["resource"]) for c in report["results"].get("failed_checks", [])]
    assert not failed
    assert report["summary"]["passed"] > 0
    # Each `// checkov:skip=ID: reason` sits in the resource it exempts and says why; none is stale.
    declared = set()
    for path in INFRA.glob("*.bicep"):
        resource = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := re.match(r"resource (\w+) '", line):
                resource = match.group(1)
            if match := re.search(r"checkov:skip=(\w+):(.*)", line):
                assert resource and len(match.group(2).strip()) > 20, f"skip without a resource or a reason: {line}"
                declared.add((match.group(1), resource))
    used = {(c["check_id"], c["resource"].rsplit(".", 1)[-1]) for c in report["results"].get("skipped_checks", [])}
    assert declared == used


def test_app_settings_are_exactly_what_the_app_reads(app_settings: dict[str, Any]) -> None:
    read = {env_name(name) for name in Settings.model_fields}
    assert set(NOT_SET_IN_AZURE) <= read, "a setting named in NOT_SET_IN_AZURE no longer exists: rename it there"
    set_for_app = set(app_settings) - HOST_SETTINGS
    assert sorted(read - set(NOT_SET_IN_AZURE) - set_for_app) == [], "add these to appSettings in infra/resources.bicep"
    assert sorted(set_for_app - read) == [], "the app does not read these: remove them from infra/resources.bicep"


def test_secrets_come_from_key_vault_and_storage_from_the_identity(app_settings: dict[str, Any]) -> None:
    secret_fields = [n for n, f in Settings.model_fields.items() if SecretStr in getattr(f.annotation, "__args__", (f.annotation,))]
    for name in (env_name(n) for n in secret_fields):
        if name not in NOT_SET_IN_AZURE:
            assert str(app_settings[name]).startswith("@Microsoft.KeyVault(SecretUri=${"), name
    for connection in ("AzureWebJobsStorage", "STORAGE"):
        assert app_settings[f"{connection}__credential"] == "managedidentity"
        assert "identity" in json.dumps(app_settings[f"{connection}__clientId"])
    # No account key is ever read out of a resource into a setting.
    assert not re.search(r"listKeys|AccountKey|primaryConnectionString", (INFRA / "resources.bicep").read_text(encoding="utf-8"))
    # Application Insights' connection string holds no secret; with local auth off it needs the identity.
    assert "Authorization=AAD" in app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]


def test_storage_has_no_keys_and_holds_the_apps_queues_and_tables(resources: dict[str, Any], bicep: dict[str, Any]) -> None:
    properties = resources["storage"]["config"]["properties"]
    assert properties["allowSharedKeyAccess"] is False
    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    variables = bicep["infra/resources.bicep"]["variables"]
    queues = set(variables["queueNames"]["value"])
    assert queues == set(WORK_QUEUES) | {f"{q}-poison" for q in WORK_QUEUES}
    from shared.adapters.tables import ALL_TABLES

    assert set(variables["tableNames"]["value"]) == set(ALL_TABLES)


def test_identity_holds_the_roles_the_app_needs(resources: dict[str, Any]) -> None:
    # Unconditional assignments to the app's identity (a conditional resource nests its body one level down).
    assigned = {
        json.dumps(r["config"]["properties"]["roleDefinitionId"])
        for r in resources.values()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
        and "condition" not in r["config"]
        and "identity" in json.dumps(r["config"]["properties"]["principalId"])
    }
    for role in (
        "storageBlobDataOwner",
        "storageTableDataContributor",
        "storageQueueDataContributor",
        "storageQueueDataMessageProcessor",
        "storageQueueDataMessageSender",
        "monitoringMetricsPublisher",
        "keyVaultSecretsUser",
    ):
        assert any(f'"{role}"' in a for a in assigned), role
    assert any("emailSenderRole" in a for a in assigned)
    assert resources["appInsights"]["config"]["properties"]["DisableLocalAuth"] is True
    assert resources["vault"]["config"]["properties"]["enableRbacAuthorization"] is True


def test_function_app_is_flex_consumption_python_311_with_the_identity(resources: dict[str, Any]) -> None:
    assert resources["plan"]["config"]["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    site = resources["functionApp"]["config"]
    assert site["kind"] == "functionapp,linux" and site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    assert site["properties"]["functionAppConfig"]["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert site["properties"]["httpsOnly"] is True


def test_outputs_name_the_urls_to_register(bicep: dict[str, Any]) -> None:
    import function_app
    from tools.devhost import index

    routes = {str(getattr(f.get_trigger(), "route", None)) for f in index(function_app.app)}
    outputs = bicep["infra/resources.bicep"]["outputs"]
    for output, route in (("b2cRedirectUri", "InviteUser/callback"), ("entraAdminConsentRedirectUri", "AdminConsent/callback")):
        assert outputs[output]["value"] == f"${{baseUrl}}/api/{route}"
        assert route in routes
    assert outputs["emailLinkBase"]["value"] == "${baseUrl}/api/InviteUser?invitationId="
    main_outputs = bicep["infra/main.bicep"]["outputs"]
    for name in ("APP_URL", "EMAIL_LINK_BASE", "B2C_REDIRECT_URI", "ENTRA_ADMIN_CONSENT_REDIRECT_URI", "AZURE_FUNCTION_APP_NAME"):
        assert name in main_outputs
    # What the deploy workflow's variables are set from (docs/how-to/deploy.md).
    assert "acsResourceId" in json.dumps(main_outputs["AZURE_ACS_RESOURCE_ID"]["value"])
    assert "communication" in json.dumps(outputs["acsResourceId"]["value"])
    for name in ("AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "AZURE_ACS_RESOURCE_ID", "PUBLIC_BASE_URL"):
        assert f"vars.{name}" in (ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8")


def test_azd_supplies_every_parameter_without_a_default(bicep: dict[str, Any]) -> None:
    parameters = bicep["infra/main.bicep"]["parameters"]
    supplied = set(json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"])
    assert supplied <= set(parameters)
    generated = {
        name
        for name, p in parameters.items()
        for d in p["decorators"]
        if d["type"] == "metadata" and d["argument"].get("azd", {}).get("type") == "generate"
    }
    assert generated == {"sessionSecret"}
    length = next(d["argument"]["azd"]["config"]["length"] for d in parameters["sessionSecret"]["decorators"] if d["type"] == "metadata")
    assert length >= 32  # the settings guard refuses a shorter SESSION_SECRET
    required = {name for name, p in parameters.items() if p["default"] is None}
    assert sorted(required - supplied - generated) == []


def test_front_door_s_waf_limits_each_client_on_the_anonymous_pages_and_is_the_only_way_in(resources: dict[str, Any]) -> None:
    from shared import routes

    waf = resources["waf"]["config"]
    assert waf["sku"]["name"] in ("Standard_AzureFrontDoor", "Premium_AzureFrontDoor")
    assert waf["properties"]["policySettings"]["mode"] == "Prevention"
    assert waf["properties"]["policySettings"]["customBlockResponseStatusCode"] == 429
    (rule,) = [r for r in waf["properties"]["customRules"]["rules"] if r["ruleType"] == "RateLimitRule"]
    assert rule["action"] == "Block" and rule["groupBy"] == [{"variableName": "SocketAddr"}]  # not X-Forwarded-For: the client writes that
    assert rule["rateLimitDurationInMinutes"] == 1 and 10 <= rule["rateLimitThreshold"] <= 300
    (condition,) = rule["matchConditions"]
    assert condition["matchVariable"] == "RequestUri" and condition["transforms"] == ["Lowercase"]
    assert "anonymousPaths" in json.dumps(condition["matchValue"])
    # The anonymous pages the app's budget guards are the paths the rule matches (a prefix covers the callbacks).
    paths = ["/api/inviteuser", "/api/createcompany", "/api/adminconsent"]
    for route in (routes.INVITE_USER, routes.SIGN_IN_CALLBACK, routes.CREATE_COMPANY, routes.ADMIN_CONSENT, routes.ADMIN_CONSENT_CALLBACK):
        assert any(routes.path(route).lower().startswith(p) for p in paths), route
    association = resources["wafAssociation"]["config"]["properties"]["parameters"]
    assert association["type"] == "WebApplicationFirewall" and "waf" in json.dumps(association["wafPolicy"])
    assert "frontDoorEndpoint" in json.dumps(association["associations"])
    # Around the WAF there is no way: the Function App admits only this Front Door profile.
    site = resources["functionApp"]["config"]["properties"]["siteConfig"]
    assert site["ipSecurityRestrictionsDefaultAction"] == "Deny"
    (allowed,) = site["ipSecurityRestrictions"]
    assert allowed["ipAddress"] == "AzureFrontDoor.Backend"
    assert "x-azure-fdid" in json.dumps(allowed["headers"]) and "frontDoorId" in json.dumps(allowed["headers"])
