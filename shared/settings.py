"""The one settings object, read from the environment (Functions app settings)."""

from functools import lru_cache
from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing import Annotated

# Azurite's well-known development account; only ever a default for local runs.
AZURITE_TABLES = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # Storage and links
    tables_connection_string: SecretStr = SecretStr(AZURITE_TABLES)
    public_base_url: AnyHttpUrl = AnyHttpUrl("http://localhost:7071")
    portal_url: AnyHttpUrl | None = None  # None: the built-in welcome page
    redirect_allowlist: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Browser session (signed cookies)
    session_secret: SecretStr = SecretStr("local-development-only-session-secret")
    session_max_age_seconds: int = 3600

    # Azure AD B2C
    b2c_tenant_name: str = "rconnectdev"
    b2c_user_flow: str = "B2C_1_signupsignin"
    b2c_authority_host: AnyHttpUrl | None = None  # None: https://{tenant}.b2clogin.com
    b2c_client_id: str = "rconnect-invitations-local"
    b2c_client_secret: SecretStr = SecretStr("local-development-client-secret")
    require_matching_email: bool = True

    # CASE 1: admin consent for the multi-tenant Entra ID app behind B2C's work-account sign-in
    entra_login_host: AnyHttpUrl = AnyHttpUrl("https://login.microsoftonline.com")
    entra_client_id: str = "rconnect-entra-federation-local"

    # E-mail
    acs_connection_string: SecretStr | None = None  # None: write to the local outbox
    acs_sender_address: str = "DoNotReply@rconnect.example"
    outbox_dir: Path = Path(".local/outbox")
    customer_success_email: str = "customer.success@rconnect.example"

    @field_validator("redirect_allowlist", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        return value

    @property
    def base_url(self) -> str:
        return str(self.public_base_url).rstrip("/")

    @property
    def b2c_authority(self) -> str:
        host = str(self.b2c_authority_host or f"https://{self.b2c_tenant_name}.b2clogin.com").rstrip("/")
        return f"{host}/{self.b2c_tenant_name}.onmicrosoft.com/{self.b2c_user_flow}"

    @property
    def b2c_redirect_uri(self) -> str:
        return f"{self.base_url}/api/InviteUser/callback"

    @property
    def welcome_url(self) -> str:
        return str(self.portal_url) if self.portal_url else f"{self.base_url}/api/Welcome"


@lru_cache
def get_settings() -> Settings:
    return Settings()
