"""The one settings object: local defaults work as they are, a public deployment must set its secrets."""

import pytest
from pydantic import ValidationError

from shared.settings import Settings

PRODUCTION = {
    "PUBLIC_BASE_URL": "https://invite.rconnect.example",
    "SESSION_SECRET": "x" * 40,
    "B2C_CLIENT_SECRET": "b2c-secret",
    "STORAGE": "DefaultEndpointsProtocol=https;AccountName=rconnect;AccountKey=a2V5;EndpointSuffix=core.windows.net",
    "ACS_CONNECTION_STRING": "endpoint=https://rconnect.communication.azure.com/;accesskey=a2V5",
    "REDIRECT_ALLOWLIST": "https://portal.rconnect.example/, https://shop.rconnect.example",
}

# The same deployment reaching Storage and ACS with its managed identity instead of keys.
IDENTITY_BASED = {
    "STORAGE__tableServiceUri": "https://rconnect.table.core.windows.net",
    "STORAGE__queueServiceUri": "https://rconnect.queue.core.windows.net",
    "STORAGE__clientId": "00000000-0000-0000-0000-000000000001",
    "ACS_ENDPOINT": "https://rconnect.communication.azure.com",
}


IDENTITY = ("IDENTITY_PLATFORM", "EXTERNAL_ID_TENANT", "IDENTITY_AUTHORITY")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*PRODUCTION, *IDENTITY_BASED, "PORTAL_URL", "B2C_AUTHORITY_HOST", "B2C_TENANT_NAME", "B2C_USER_FLOW", *IDENTITY]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_local_defaults_need_no_settings(environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.base_url == "http://localhost:7071"
    assert settings.acs_connection_string is None  # the local outbox


def test_a_complete_production_configuration_is_accepted(environment: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        environment.setenv(name, value)
    environment.setenv("B2C_TENANT_NAME", "rconnect")
    environment.setenv("B2C_USER_FLOW", "B2C_1_susi")
    environment.setenv("PORTAL_URL", "https://portal.rconnect.example/welcome")
    settings = Settings()
    assert settings.identity_authority_url == "https://rconnect.b2clogin.com/rconnect.onmicrosoft.com/B2C_1_susi"
    assert settings.redirect_allowlist == ["https://portal.rconnect.example", "https://shop.rconnect.example"]
    assert [str(link.url) for link in settings.welcome_page_links][:2] == [
        "https://portal.rconnect.example/welcome/service-requests",
        "https://portal.rconnect.example/welcome/assets",
    ]


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SESSION_SECRET", "SESSION_SECRET must be set"),
        ("B2C_CLIENT_SECRET", "B2C_CLIENT_SECRET must be set"),
        ("STORAGE", "STORAGE (or STORAGE__tableServiceUri and STORAGE__queueServiceUri) must be set"),
        ("ACS_CONNECTION_STRING", "ACS_CONNECTION_STRING or ACS_ENDPOINT must be set"),
    ],
)
def test_a_public_deployment_refuses_development_defaults(environment: pytest.MonkeyPatch, missing: str, message: str) -> None:
    for name, value in PRODUCTION.items():
        if name != missing:
            environment.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert message in str(error.value)
    # Secrets never appear in the error, which ends up in the host's logs.
    assert "x" * 40 not in str(error.value) and "b2c-secret" not in str(error.value)


def test_a_short_session_secret_is_refused(environment: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        environment.setenv(name, value)
    environment.setenv("SESSION_SECRET", "too-short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings()


def test_storage_and_acs_by_managed_identity_need_no_keys(environment: pytest.MonkeyPatch) -> None:
    for name, value in {**PRODUCTION, **IDENTITY_BASED}.items():
        if name not in ("STORAGE", "ACS_CONNECTION_STRING"):
            environment.setenv(name, value)
    settings = Settings()
    assert settings.storage_connection_string is None
    assert str(settings.storage_table_service_uri) == "https://rconnect.table.core.windows.net/"
    assert settings.storage_client_id == IDENTITY_BASED["STORAGE__clientId"]
    assert settings.acs_connection_string is None and settings.acs_endpoint is not None


def test_locally_storage_defaults_to_azurite_tables_and_queues(environment: pytest.MonkeyPatch) -> None:
    connection_string = Settings().storage_connection_string or ""
    assert "TableEndpoint=http://127.0.0.1:10002/" in connection_string
    assert "QueueEndpoint=http://127.0.0.1:10001/" in connection_string


def test_welcome_links_are_read_as_json_and_only_web_or_mail_links(environment: pytest.MonkeyPatch) -> None:
    environment.setenv(
        "WELCOME_LINKS",
        '[{"label": "parts", "url": "https://shop.rconnect.example/"}, {"label": "Hotline", "url": "mailto:hotline@rconnect.example"}]',
    )
    links = Settings().welcome_page_links
    assert [(link.label, str(link.url)) for link in links] == [
        ("parts", "https://shop.rconnect.example/"),
        ("Hotline", "mailto:hotline@rconnect.example"),
    ]
    environment.setenv("WELCOME_LINKS", '[{"label": "x", "url": "javascript:alert(1)"}]')
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    ("values", "authority"),
    [
        ({}, "https://rconnectdev.b2clogin.com/rconnectdev.onmicrosoft.com/B2C_1_signupsignin"),
        (
            {"IDENTITY_PLATFORM": "b2c-custom-policy", "B2C_TENANT_NAME": "rconnect", "B2C_USER_FLOW": "B2C_1A_SIGNUP_SIGNIN"},
            "https://rconnect.b2clogin.com/rconnect.onmicrosoft.com/B2C_1A_SIGNUP_SIGNIN",
        ),
        (
            {
                "IDENTITY_PLATFORM": "b2c-custom-policy",
                "B2C_USER_FLOW": "B2C_1A_SIGNUP_SIGNIN",
                "B2C_AUTHORITY_HOST": "https://login.rconnect.example",
            },
            "https://login.rconnect.example/rconnectdev.onmicrosoft.com/B2C_1A_SIGNUP_SIGNIN",
        ),
        ({"IDENTITY_PLATFORM": "external-id", "B2C_TENANT_NAME": "rconnect"}, "https://rconnect.ciamlogin.com/rconnect.onmicrosoft.com"),
        (
            {
                "IDENTITY_PLATFORM": "external-id",
                "B2C_TENANT_NAME": "rconnect",
                "EXTERNAL_ID_TENANT": "9b0a2c64-7b1d-4c3e-8f5a-1d2e3f4a5b6c",
            },
            "https://rconnect.ciamlogin.com/9b0a2c64-7b1d-4c3e-8f5a-1d2e3f4a5b6c",
        ),
        (
            {"IDENTITY_PLATFORM": "external-id", "IDENTITY_AUTHORITY": "https://login.rconnect.example/tenant-id/"},
            "https://login.rconnect.example/tenant-id",
        ),
    ],
    ids=["user-flow-default", "custom-policy", "custom-domain", "external-id", "external-id-tenant-id", "full-authority"],
)
def test_each_platform_has_its_authority(environment: pytest.MonkeyPatch, values: dict[str, str], authority: str) -> None:
    for name, value in values.items():
        environment.setenv(name, value)
    settings = Settings()
    assert settings.identity_authority_url == authority
    assert settings.identity_metadata_url == f"{authority}/v2.0/.well-known/openid-configuration"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"IDENTITY_PLATFORM": "b2c-custom-policy"}, "B2C_USER_FLOW must name the custom policy"),
        ({"IDENTITY_PLATFORM": "b2c-custom-policy", "B2C_USER_FLOW": "B2C_1_susi"}, "B2C_USER_FLOW must name the custom policy"),
        ({"IDENTITY_PLATFORM": "b2c-user-flow", "B2C_USER_FLOW": "B2C_1A_SIGNUP_SIGNIN"}, "B2C_USER_FLOW must name the user flow"),
        ({"IDENTITY_PLATFORM": "external-id", "B2C_USER_FLOW": "B2C_1_susi"}, "B2C_USER_FLOW must be unset"),
        ({"IDENTITY_PLATFORM": "entra"}, "Input should be 'b2c-user-flow', 'b2c-custom-policy' or 'external-id'"),
    ],
)
def test_a_platform_without_its_settings_is_refused(environment: pytest.MonkeyPatch, values: dict[str, str], message: str) -> None:
    for name, value in values.items():
        environment.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()
