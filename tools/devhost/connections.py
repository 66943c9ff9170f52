"""A trigger's ``connection`` resolved the way the host resolves it, to a Queue service client."""

from __future__ import annotations

import os
from collections.abc import Mapping

from azure.identity import DefaultAzureCredential
from azure.storage.queue import ExponentialRetry, QueueServiceClient

DEFAULT_CONNECTION = "AzureWebJobsStorage"
# What `UseDevelopmentStorage=true` stands for: Azurite's well-known account on its default ports.
DEVELOPMENT_STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
)


def _retry() -> ExponentialRetry:
    """Retries after about 1, 3 and 5 s, near Azure.Core's defaults in the host, not the Python SDK's 15, 18, 24 s:
    a message whose completion keeps failing would otherwise wait out its 10-minute lease."""
    return ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=3, random_jitter_range=1)


def queue_service(connection: str | None, environ: Mapping[str, str] | None = None) -> QueueServiceClient:
    """``connection`` names app settings: a connection string in ``AzureWebJobs{name}`` or ``{name}``, or an
    identity-based account in ``{name}__queueServiceUri`` / ``{name}__serviceUri`` / ``{name}__accountName``
    (with ``{name}__clientId`` for a user-assigned managed identity). Empty: ``AzureWebJobsStorage``."""
    env = os.environ if environ is None else environ
    name = connection or DEFAULT_CONNECTION
    for setting in (f"AzureWebJobs{name}", name):
        value = env.get(setting, "").strip()
        if value:
            if value.replace(" ", "").lower().startswith("usedevelopmentstorage=true"):
                value = DEVELOPMENT_STORAGE
            return QueueServiceClient.from_connection_string(value, retry_policy=_retry())
    account = env.get(f"{name}__accountName")
    url = env.get(f"{name}__queueServiceUri") or env.get(f"{name}__serviceUri")
    if not url and account:
        url = f"https://{account}.queue.core.windows.net"
    if url:
        credential = DefaultAzureCredential(managed_identity_client_id=env.get(f"{name}__clientId"))
        return QueueServiceClient(url, credential=credential, retry_policy=_retry())
    raise SystemExit(
        f"Storage connection '{name}' is not configured: set the app setting {name} (a connection string) "
        f"or {name}__queueServiceUri (identity-based)"
    )
