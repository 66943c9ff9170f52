"""The composition root: one settings object → credential → clients → stores → services.

Built once per process (`services()`, through shared/composition.py, which imports this module on
the first request); a test builds its own with `build(settings, clock=...)`.
Storage follows the Functions host's convention for connections: STORAGE holds a connection
string (Azurite, or keys), or STORAGE__tableServiceUri and STORAGE__queueServiceUri name the
account's endpoints, reached with azure-identity (a managed identity in Azure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import requests
from azure.core.credentials import TokenCredential
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.storage.queue import QueueServiceClient
from requests import Session
from requests.adapters import HTTPAdapter

from shared.adapters.identity import B2CSignIn
from shared.adapters.invitation_hints import HintIssuer, InvitationHints
from shared.adapters.mail import OutboxEmailSender, OutboxQuota
from shared.adapters.mail.acs import AcsEmailSender
from shared.adapters.queues import QueueSender
from shared.adapters.staff_tokens import StaffTokens
from shared.adapters.tables import ALL_TABLES, Table
from shared.adapters.tables.admin_consents import AdminConsentStore
from shared.adapters.tables.batches import BatchStore
from shared.adapters.tables.companies import CompanyStore
from shared.adapters.tables.email_index import EmailIndexStore
from shared.adapters.tables.email_operations import EmailOperationStore
from shared.adapters.tables.funnel import FunnelTableStore
from shared.adapters.tables.idempotency_keys import IdempotencyKeyStore
from shared.adapters.tables.invitations import InvitationStore
from shared.adapters.tables.send_budget import TableSendBudget
from shared.adapters.tables.tenants import TenantStore
from shared.adapters.tables.users import UserStore
from shared.adapters.tenant_discovery import EntraTenantDiscovery
from shared.clock import utcnow
from shared.domain.errors import CheckFailed
from shared.domain.models import Invitation
from shared.domain.pacing import Quota
from shared.presentation.invitation_email import ProductLinks
from shared.routes import Links
from shared.services.admin_consent import AdminConsentService
from shared.services.batches import BatchService
from shared.services.companies import CompanyService
from shared.services.events import EventPublisher
from shared.services.funnel import FunnelService
from shared.services.intents import Enqueue, IntentSweeper
from shared.services.invitation_email import InvitationEmailService
from shared.services.invitations import InvitationService
from shared.services.ports import Clock, EmailSender, SendBudget
from shared.services.sign_in import SignInService
from shared.services.work_accounts import WorkAccountService
from shared.settings import Settings, get_settings
from shared.telemetry import record_funnel_step


def credential(settings: Settings) -> TokenCredential:
    """The app's Azure identity, as the host reads an identity-based connection: with
    STORAGE__credential=managedidentity or STORAGE__clientId, the managed identity (the user-assigned
    one STORAGE__clientId names, else the system-assigned one); otherwise azure-identity's chain
    (managed identity, environment, Azure CLI...)."""
    if settings.storage_credential == "managedidentity" or settings.storage_client_id:
        return ManagedIdentityCredential(client_id=settings.storage_client_id)
    return DefaultAzureCredential()


# A person waits on every storage call, and holds one of the host's threads meanwhile: each call
# fits the interactive budget of about 2 s (docs/explanation/faults.md). Tables: connection refused
# is retried twice (0.2 + 0.4 s of back-off, under 1 s); a hang is one try, cut at the read timeout
# and never retried (no retry_read: a second try would not fit, and a write cut short may have
# landed). A Table Storage query that runs longer than the read timeout (the service allows 5 s per
# page) fails like a hang: the sweeper's scan is then retried on its next tick.
TABLE_TIMEOUTS: dict[str, float] = {"connection_timeout": 1, "read_timeout": 1.5}
_TABLE_RETRIES: dict[str, Any] = {
    "retry_total": 2,
    "retry_read": 0,
    "retry_backoff_factor": 0.2,
    "retry_backoff_max": 1,
    "timeout": 2,
}
# A queue send hands over an intent the guarded write has stored already, and the sweeper re-sends
# what was not handed over: one try, short timeouts, so a queue outage costs a request next to nothing.
QUEUE_TIMEOUTS: dict[str, float] = {"connection_timeout": 0.5, "read_timeout": 1}
_QUEUE_RETRIES: dict[str, Any] = {"retry_total": 0}
POOL_SIZE = 32  # connections kept per host: every thread that may call storage at once (the worker's pool is at most 32)


def storage_session() -> Session:
    """One HTTP session and connection pool for a process's table and queue clients."""
    session = Session()
    adapter = HTTPAdapter(pool_maxsize=POOL_SIZE)  # requests' default keeps 10 and drops the rest after each call
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def storage_transports() -> tuple[RequestsTransport, RequestsTransport]:
    """azure-core's transports for tables and for queues, each with its timeouts, on one session.
    session_owner=False: the clients built on it share it, so closing one must not close it."""
    session = storage_session()
    return (
        RequestsTransport(session=session, session_owner=False, **TABLE_TIMEOUTS),
        RequestsTransport(session=session, session_owner=False, **QUEUE_TIMEOUTS),
    )


def storage_clients(settings: Settings) -> tuple[TableServiceClient, QueueServiceClient]:
    connection_string = settings.storage_connection_string
    if connection_string is not None:
        return connection_string_clients(connection_string)
    assert settings.storage_table_service_uri and settings.storage_queue_service_uri  # the settings guarantee both
    identity = credential(settings)
    table_transport, queue_transport = storage_transports()
    return (
        TableServiceClient(str(settings.storage_table_service_uri), credential=identity, transport=table_transport, **_TABLE_RETRIES),
        QueueServiceClient(str(settings.storage_queue_service_uri), credential=identity, transport=queue_transport, **_QUEUE_RETRIES),
    )


def connection_string_clients(connection_string: str) -> tuple[TableServiceClient, QueueServiceClient]:
    """The app's storage clients for an account given by connection string (Azurite, or keys). `make bench`
    builds its bare SDK calls with this too, so they run on exactly the app's client configuration."""
    table_transport, queue_transport = storage_transports()
    return (
        TableServiceClient.from_connection_string(connection_string, transport=table_transport, **_TABLE_RETRIES),
        QueueServiceClient.from_connection_string(connection_string, transport=queue_transport, **_QUEUE_RETRIES),
    )


def email_sender(settings: Settings) -> EmailSender:
    if settings.acs_connection_string is None and settings.acs_endpoint is None:
        return OutboxEmailSender(settings.outbox_dir, settings.acs_sender_address, settings.product_name)
    if settings.acs_connection_string is not None:
        return AcsEmailSender(settings.acs_sender_address, connection_string=settings.acs_connection_string.get_secret_value())
    return AcsEmailSender(settings.acs_sender_address, endpoint=str(settings.acs_endpoint), credential=credential(settings))


def send_budget(settings: Settings, tables: TableServiceClient) -> SendBudget:
    """ACS's sending quota, counted in Table Storage for every instance; the local outbox has none."""
    if settings.acs_connection_string is None and settings.acs_endpoint is None:
        return OutboxQuota()
    quota = Quota(
        settings.email_per_minute,
        settings.email_per_hour,
        settings.email_reserve_percent,
        timedelta(seconds=settings.email_quota_minute_seconds),
    )
    return TableSendBudget(tables, quota)


def staff_tokens(settings: Settings) -> StaffTokens | None:
    metadata_url = settings.staff_api_metadata_url
    if metadata_url is None or settings.staff_api_audience is None:
        return None
    return StaffTokens(metadata_url, settings.staff_api_audience)


def links(settings: Settings) -> Links:
    return Links(settings.base_url)


def invitation_hints(settings: Settings, urls: Links, clock: Clock) -> InvitationHints | None:
    """The id_token_hint signer of B2C's invitation policy, or None when SIGN_IN_HINT is login_hint."""
    if settings.sign_in_hint != "id_token_hint" or settings.hint_signing_key is None:
        return None
    issuer = HintIssuer(
        issuer=urls.hint_issuer(),
        metadata_url=urls.hint_metadata(),
        jwks_url=urls.hint_keys(),
        audience=settings.b2c_client_id,  # the policy's IdTokenAudience: the app registration it signs in for
        lifetime=timedelta(seconds=settings.hint_lifetime_seconds),
    )
    previous = settings.hint_previous_signing_key
    return InvitationHints(issuer, settings.hint_signing_key.get_secret_value(), previous.get_secret_value() if previous else None, clock)


@dataclass(frozen=True)
class Services:
    settings: Settings
    links: Links
    invitations: InvitationService
    funnel: FunnelService
    batches: BatchService
    emails: InvitationEmailService
    sweeper: IntentSweeper
    sign_in: SignInService
    companies: CompanyService
    admin_consent: AdminConsentService
    queues: QueueSender
    staff_tokens: StaffTokens | None  # None: STAFF_API_AUDIENCE unset, the staff API takes no bearer tokens
    hints: InvitationHints | None  # None: SIGN_IN_HINT is login_hint, no id_token_hint and no metadata to publish


def build(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    sender: EmailSender | None = None,
    clients: tuple[TableServiceClient, QueueServiceClient] | None = None,
) -> Services:

    tables, queue_service = clients or storage_clients(settings)
    urls = links(settings)
    hints = invitation_hints(settings, urls, clock)
    queues = QueueSender(queue_service)
    invitation_store = InvitationStore(tables)
    funnel = FunnelService(
        FunnelTableStore(tables), clock, stalled_after_hours=settings.funnel_stalled_after_hours, metrics=record_funnel_step
    )
    invitations = InvitationService(
        invitation_store,
        IdempotencyKeyStore(tables),
        EmailIndexStore(tables),
        queues,
        urls,
        clock,
        redirect_allowlist=settings.redirect_allowlist,
        inviter_notifications=settings.inviter_notifications,
        events=EventPublisher(queues),
        on_step=funnel.record,
    )
    companies = CompanyService(invitations, CompanyStore(tables), queues, urls, clock)
    budget = send_budget(settings, tables)
    batches = BatchService(invitations, BatchStore(tables), queues, clock, budget)
    consents = AdminConsentStore(tables)
    work_accounts = WorkAccountService(
        invitations, EntraTenantDiscovery(str(settings.entra_login_host)), TenantStore(tables), consents, queues
    )
    return Services(
        settings=settings,
        links=urls,
        invitations=invitations,
        funnel=funnel,
        batches=batches,
        emails=InvitationEmailService(
            invitations,
            EmailOperationStore(tables),
            sender or email_sender(settings),
            budget,
            work_accounts,
            product=ProductLinks(settings.product_name, str(settings.documentation_url), settings.customer_success_link),
        ),
        sweeper=IntentSweeper(
            invitation_store,
            clock,
            after_seconds=settings.sweep_after_seconds,
            enqueuers=[*redrivers(invitations, companies), work_accounts.enqueue_notice],  # and the approval e-mails
            report_expiry=invitations.report_expiry,
            redrive_batches=batches.redrive,
            remind=invitations.remind,
            remind_days=settings.reminder_days_before_expiry,
        ),
        sign_in=SignInService(
            invitations,
            UserStore(tables),
            B2CSignIn(settings, urls.sign_in_callback()),
            clock,
            require_matching_email=settings.require_matching_email,
            hints=hints,
        ),
        companies=companies,
        admin_consent=AdminConsentService(
            consents,
            clock,
            work_accounts,
            login_host=str(settings.entra_login_host),
            client_id=settings.entra_client_id,
            callback_url=urls.admin_consent_callback(),
        ),
        queues=queues,
        staff_tokens=staff_tokens(settings),
        hints=hints,
    )


def redrivers(invitations: InvitationService, companies: CompanyService) -> list[Enqueue]:
    """What the sweeper does for an outstanding invitation: each kind of intent's own enqueue."""

    def company(invitation: Invitation) -> None:
        if invitation.completion is not None and invitation.completion.status == "pending":
            companies.request_creation(invitation)

    def events(invitation: Invitation) -> None:
        if invitation.pending_events:
            invitations.settle_events(invitation.id)

    return [invitations.redrive_email, invitations.enqueue_notices, company, events]


def create_tables(tables: TableServiceClient) -> None:
    """Every table, once per process (a table deleted later is re-created by its store);
    Unavailable if storage is down, and the next request tries again."""

    for name in ALL_TABLES:
        Table(tables, name).create()


def identity_probe(settings: Settings) -> Callable[[], str]:
    """The configured platform (its name, not its secrets) and whether its OpenID configuration answers."""

    def check() -> str:
        platform = f"{settings.identity_platform} at {settings.identity_authority_url}"
        try:
            response = requests.get(settings.identity_metadata_url, timeout=(2, 3))
            response.raise_for_status()
            if "issuer" not in response.json():
                raise ValueError("no issuer in the OpenID configuration")
        except Exception as error:
            raise CheckFailed(f"{platform}: {type(error).__name__}") from error
        return f"{platform}: OpenID configuration answers"

    return check


@lru_cache
def clients() -> tuple[TableServiceClient, QueueServiceClient]:
    """The process's storage clients (one credential, one token cache), shared by the services and /api/health."""

    return storage_clients(get_settings())


@lru_cache
def services() -> Services:
    """The process's services, built on first use: the worker imports the app before a request needs them.
    SettingsInvalid or Unavailable when that fails; nothing is cached then, the next request tries again."""

    settings = get_settings()
    tables, queues = clients()
    create_tables(tables)
    return build(settings, clients=(tables, queues))


@lru_cache
def published_hints() -> InvitationHints | None:
    """The id_token_hint keys and metadata B2C reads: from the settings alone, so they answer while storage is down."""

    settings = get_settings()
    return invitation_hints(settings, links(settings), utcnow)
