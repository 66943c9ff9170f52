"""The one settings object, read from the environment (Functions app settings)."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyHttpUrl,
    AnyUrl,
    BaseModel,
    Field,
    SecretStr,
    UrlConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.domain.errors import Unavailable
from shared.domain.keys import load_private_key
from shared.domain.platforms import IdentityPlatform

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEV_SESSION_SECRET = "local-development-only-session-secret"
DEV_CLIENT_SECRET = "local-development-client-secret"
DEV_ENTRA_SECRET = "local-development-entra-secret"

# Azurite's well-known development account; only ever a default for local runs.
AZURITE_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
)


# Where each platform's authorities live (MSAL for Python knows both: msal/authority.py).
PLATFORM_HOSTS: dict[IdentityPlatform, str] = {
    "b2c-user-flow": "b2clogin.com",
    "b2c-custom-policy": "b2clogin.com",
    "external-id": "ciamlogin.com",
}
DEFAULT_USER_FLOW = "B2C_1_signupsignin"


class WelcomeLink(BaseModel):
    label: str = Field(min_length=1)
    url: Annotated[AnyUrl, UrlConstraints(allowed_schemes=["https", "http", "mailto"])]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True, env_ignore_empty=True, populate_by_name=True)

    # Storage (Tables and Queues), named like a Functions host connection: either STORAGE, a
    # connection string, or STORAGE__tableServiceUri + STORAGE__queueServiceUri reached with
    # azure-identity (STORAGE__clientId: a user-assigned managed identity, also used for ACS).
    storage: SecretStr | None = None  # neither: Azurite on its usual ports
    storage_table_service_uri: AnyHttpUrl | None = Field(default=None, validation_alias="STORAGE__tableServiceUri")
    storage_queue_service_uri: AnyHttpUrl | None = Field(default=None, validation_alias="STORAGE__queueServiceUri")
    storage_client_id: str | None = Field(default=None, validation_alias="STORAGE__clientId")
    # The host's identity-based connection setting: "managedidentity" uses only the managed identity
    # (STORAGE__clientId's, else the system-assigned one); unset, azure-identity's whole chain.
    storage_credential: Literal["managedidentity"] | None = Field(default=None, validation_alias="STORAGE__credential")

    # Links
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:7071")
    # My rConnect itself: the welcome page's "Go to My rConnect" and its default links start there.
    portal_url: AnyHttpUrl = AnyHttpUrl("https://my.rconnect.example/")
    redirect_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Browser session (signed cookies)
    session_secret: SecretStr = SecretStr(DEV_SESSION_SECRET)
    session_max_age_seconds: int = 3600

    # The invitees' identity platform (docs/how-to/set-up-b2c.md, docs/how-to/set-up-external-id.md): Azure AD B2C with a user flow or
    # with custom policies, or Microsoft Entra External ID. The platform decides the authority's shape,
    # how the ID token's claims read and which error codes the redirect carries.
    identity_platform: IdentityPlatform = "b2c-user-flow"
    b2c_tenant_name: str = "rconnectdev"  # B2C: {name}.onmicrosoft.com; External ID: {name}.ciamlogin.com
    # B2C only: the user flow (B2C_1_…; None: B2C_1_signupsignin, the portal's suggestion) or custom policy (B2C_1A_…)
    b2c_user_flow: str | None = None
    external_id_tenant: str | None = None  # External ID only: tenant id or domain; None: {name}.onmicrosoft.com
    b2c_authority_host: AnyHttpUrl | None = None  # a custom domain, or the local stand-in; None: the platform's host
    identity_authority: AnyHttpUrl | None = None  # the whole authority, when no shape above fits
    b2c_client_id: str = "rconnect-invitations-local"
    b2c_client_secret: SecretStr = SecretStr(DEV_CLIENT_SECRET)
    require_matching_email: bool = True
    # How the sign-in request names the invited address (docs/how-to/set-up-b2c.md): "login_hint" prefills it;
    # "id_token_hint" (B2C custom policy B2C_1A_SIGNUP_INVITATION only) sends it signed, so the policy locks it
    # and asks no e-mail code: the invitation link already proved the mailbox.
    sign_in_hint: Literal["login_hint", "id_token_hint"] = "login_hint"
    # RS256 keys of the id_token_hint, PEM (in Azure: Key Vault references). The previous key is only
    # published (JWKS) so a hint signed just before a rotation still validates.
    hint_signing_key: SecretStr | None = None
    hint_previous_signing_key: SecretStr | None = None
    hint_lifetime_seconds: int = Field(default=600, ge=60, le=3600)  # from the e-mail link's redirect to B2C's check

    # CASE 1: the multi-tenant Entra ID app work accounts sign in to: B2C federates to it (its secret is a
    # B2C policy key); on External ID the app signs work accounts in with it itself (docs/decisions/0019).
    entra_login_host: AnyHttpUrl = AnyHttpUrl("https://login.microsoftonline.com")
    entra_client_id: str = "rconnect-entra-federation-local"
    entra_client_secret: SecretStr = SecretStr(DEV_ENTRA_SECRET)  # External ID only

    # E-mail: ACS by connection string, or by endpoint with azure-identity; neither: the local outbox
    acs_connection_string: SecretStr | None = None
    acs_endpoint: AnyHttpUrl | None = None
    acs_sender_address: str = "DoNotReply@rconnect.example"
    outbox_dir: Path = Path(".local/outbox")
    customer_success_email: str = "customer.success@rconnect.example"

    # What the invitation e-mail and the pages name and link (the customer guide's e-mail)
    product_name: str = "My rConnect"  # e.g. "My rConnect (Stag)" on staging
    documentation_url: AnyHttpUrl = AnyHttpUrl("https://docs.rconnect.example/")
    customer_success_url: AnyHttpUrl | None = None  # None: a mailto: link to CUSTOMER_SUCCESS_EMAIL
    # The welcome page's links, JSON: [{"label": "service", "url": "https://…"}, …]. A label that is a
    # topic (machines, service, parts, documents, remote, training, customer-success) is shown translated
    # with its description; any other label is shown as written. None: see `welcome_page_links`.
    welcome_links: list[WelcomeLink] | None = None

    # Queued side effects: the sweeper (timer SWEEP_SCHEDULE, read by the host) re-enqueues intents
    # (and hands over batches) still outstanding after this long; a send normally leaves within seconds.
    sweep_after_seconds: int = Field(default=120, ge=1)
    # The sweeper queues one reminder this many days before a pending invitation expires (0: none).
    reminder_days_before_expiry: int = Field(default=2, ge=0, le=30)
    # The inviter (if the invitation names their address) is told by e-mail when the invitee
    # completes, or the invitation's e-mail bounces or it expires.
    inviter_notifications: bool = False

    # The onboarding funnel lists an invitation as stalled once it was opened and not signed in, or
    # signed in and not completed, for this long.
    funnel_stalled_after_hours: int = Field(default=48, ge=1)

    # Each client address's budget on the invitee's anonymous pages (web/client_budget.py): a burst of
    # ANONYMOUS_BURST requests, refilled at ANONYMOUS_REQUESTS_PER_MINUTE; per instance, in memory.
    anonymous_requests_per_minute: int = Field(default=60, ge=1)
    anonymous_burst: int = Field(default=30, ge=1)

    # ACS's e-mail quota (a new resource's; raised on request): sends are paced to it, and batch rows
    # leave EMAIL_RESERVE_PERCENT of each window to single invitations. EMAIL_QUOTA_MINUTE_SECONDS
    # shortens the quota's minute (an hour is 60 of them) for tests.
    email_per_minute: int = Field(default=30, ge=1)
    email_per_hour: int = Field(default=100, ge=1)
    email_reserve_percent: int = Field(default=20, ge=0, le=90)
    email_quota_minute_seconds: float = Field(default=60, gt=0)

    # Staff identity. WEBSITE_AUTH_ENABLED is set by the platform when App Service Authentication
    # is on: only then are X-MS-CLIENT-PRINCIPAL* headers the platform's and not the caller's.
    website_auth_enabled: bool = False
    # Entra ID bearer tokens on the staff API (besides the function key): the audience the API's
    # tokens carry (v2.0 tokens: the API app's client id) and the staff's tenant; unset: no tokens.
    staff_api_audience: str | None = None
    staff_api_tenant_id: str | None = None

    @field_validator("redirect_allowlist", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _identity_platform_is_complete(self) -> "Settings":
        if self.identity_authority is not None:
            return self
        policy = self.b2c_policy
        if self.identity_platform == "b2c-user-flow" and not (policy and policy.upper().startswith("B2C_1_")):
            raise ValueError("B2C_USER_FLOW must name the user flow (B2C_1_…) when IDENTITY_PLATFORM is b2c-user-flow")
        if self.identity_platform == "b2c-custom-policy" and not (policy and policy.upper().startswith("B2C_1A_")):
            raise ValueError("B2C_USER_FLOW must name the custom policy (B2C_1A_…) when IDENTITY_PLATFORM is b2c-custom-policy")
        if self.identity_platform == "external-id" and self.b2c_user_flow:
            raise ValueError("B2C_USER_FLOW must be unset when IDENTITY_PLATFORM is external-id: its user flows are bound to the app")
        return self

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> "Settings":
        if self.staff_api_audience and not self.staff_api_tenant_id:
            raise ValueError("STAFF_API_TENANT_ID must be set when STAFF_API_AUDIENCE is")
        if self.sign_in_hint == "id_token_hint":
            self._check_hint_keys()
        # The defaults exist so `make run` needs no setup; a public deployment must not inherit them.
        if self.public_base_url.host in LOCAL_HOSTS:
            return self
        if self.session_secret.get_secret_value() == DEV_SESSION_SECRET or len(self.session_secret) < 32:
            raise ValueError("SESSION_SECRET must be set to a random value of at least 32 characters")
        if self.b2c_client_secret.get_secret_value() == DEV_CLIENT_SECRET:
            raise ValueError("B2C_CLIENT_SECRET must be set")
        if self.identity_platform == "external-id" and self.entra_client_secret.get_secret_value() == DEV_ENTRA_SECRET:
            raise ValueError("ENTRA_CLIENT_SECRET must be set when IDENTITY_PLATFORM is external-id")
        if self.storage is None and not (self.storage_table_service_uri and self.storage_queue_service_uri):
            raise ValueError("STORAGE (or STORAGE__tableServiceUri and STORAGE__queueServiceUri) must be set")
        if self.acs_connection_string is None and self.acs_endpoint is None:
            raise ValueError("ACS_CONNECTION_STRING or ACS_ENDPOINT must be set: the local outbox is for development only")
        return self

    def _check_hint_keys(self) -> None:
        # In Azure an unresolved Key Vault reference arrives as its own text: name the setting, not a 500 later.
        if self.hint_signing_key is None:
            raise ValueError("HINT_SIGNING_KEY must be set when SIGN_IN_HINT is id_token_hint")
        for name, value in (("HINT_SIGNING_KEY", self.hint_signing_key), ("HINT_PREVIOUS_SIGNING_KEY", self.hint_previous_signing_key)):
            if value is not None:
                try:
                    load_private_key(value.get_secret_value())
                except ValueError:
                    raise ValueError(f"{name} must be an RSA private key in PEM") from None

    @property
    def storage_connection_string(self) -> str | None:
        """The connection string to use, or None when the service URIs and azure-identity are."""
        if self.storage is not None:
            return self.storage.get_secret_value()
        if self.storage_table_service_uri and self.storage_queue_service_uri:
            return None
        return AZURITE_STORAGE

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

    @property
    def staff_api_metadata_url(self) -> str | None:
        """The staff tenant's OpenID configuration (Entra ID v2.0), or None when tokens are not accepted."""
        if not (self.staff_api_audience and self.staff_api_tenant_id):
            return None
        return f"{str(self.entra_login_host).rstrip('/')}/{self.staff_api_tenant_id}/v2.0/.well-known/openid-configuration"

    @property
    def identity_authority_url(self) -> str:
        """MSAL's authority: B2C `https://{name}.b2clogin.com/{name}.onmicrosoft.com/{policy}`, External ID
        `https://{name}.ciamlogin.com/{tenant id or domain}` (its user flow is chosen by the app registration)."""
        if self.identity_authority is not None:
            return str(self.identity_authority).rstrip("/")
        default_host = f"https://{self.b2c_tenant_name}.{PLATFORM_HOSTS[self.identity_platform]}"
        host = str(self.b2c_authority_host or default_host).rstrip("/")
        if self.identity_platform == "external-id":
            return f"{host}/{self.external_id_tenant or f'{self.b2c_tenant_name}.onmicrosoft.com'}"
        return f"{host}/{self.b2c_tenant_name}.onmicrosoft.com/{self.b2c_policy}"

    @property
    def b2c_policy(self) -> str | None:
        """The B2C user flow or custom policy the authority names; None on External ID."""
        if self.identity_platform == "b2c-user-flow":
            return self.b2c_user_flow or DEFAULT_USER_FLOW
        return self.b2c_user_flow

    @property
    def entra_work_authority(self) -> str:
        """Entra ID's multi-tenant endpoint, where the app signs work accounts in on External ID."""
        return f"{str(self.entra_login_host).rstrip('/')}/organizations"

    @property
    def identity_metadata_url(self) -> str:
        return f"{self.identity_authority_url}/v2.0/.well-known/openid-configuration"

    @property
    def customer_success_link(self) -> str:
        return str(self.customer_success_url) if self.customer_success_url else f"mailto:{self.customer_success_email}"

    @property
    def welcome_page_links(self) -> list[WelcomeLink]:
        if self.welcome_links is not None:
            return self.welcome_links
        portal = str(self.portal_url).rstrip("/")
        return [
            WelcomeLink(label="service", url=AnyUrl(f"{portal}/service-requests")),
            WelcomeLink(label="machines", url=AnyUrl(f"{portal}/assets")),
            WelcomeLink(label="documents", url=self.documentation_url),
            WelcomeLink(label="customer-success", url=AnyUrl(self.customer_success_link)),
        ]


class SettingsInvalid(Unavailable):
    """The app settings are wrong: every request answers 503 naming the settings (never their values)
    until they are fixed, instead of a 500; /api/health says the same."""

    retry_after_seconds = 300

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid app settings: " + "; ".join(problems), code="settings-invalid")
        self.problems = problems


def env_name(field: str) -> str:
    """The app setting a field is read from (its alias, else its name in capitals)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    return alias if isinstance(alias, str) else field.upper()


def settings_problems(error: ValidationError) -> list[str]:
    # hide_input_in_errors keeps the values out; a model-level check names its settings itself.
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{env_name(str(item['loc'][0]))}: {message}" if item["loc"] else message)
    return problems


@lru_cache
def get_settings() -> Settings:
    """The settings, or SettingsInvalid (not cached: a request after a fix reads them again)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsInvalid(settings_problems(error)) from None
