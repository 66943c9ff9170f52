"""Telemetry: Azure Monitor (OpenTelemetry) when APPLICATIONINSIGHTS_CONNECTION_STRING is set, and
the invitation a log line is about on the record itself.

The Application Insights settings are the host's (it reads the same variables), so they are read
from the environment here rather than through the app's Settings. The distro is imported only when
the connection string is set: it is heavy and nothing of it is needed otherwise.

Every log record created while an invitation is in context (`shared.log_context`) carries the
attribute `invitation_id`; the OpenTelemetry log handler exports a record's extra attributes, so it
is a custom dimension in Application Insights (`customDimensions.invitation_id`), filterable without
parsing messages. Nothing else is added: no cookie, token or secret is ever put on a record, and the
HTTP instrumentations record URLs and status codes, not headers or bodies.
"""

import logging
import os
from collections.abc import Mapping
from typing import Any

from shared.log_context import install_log_context

_state = {"azure_monitor": False}
# The distro instruments these libraries by default; the app uses none of them.
_UNUSED_INSTRUMENTATIONS = ("django", "fastapi", "flask", "httpx", "psycopg2")


def _credential(environ: Mapping[str, str]) -> Any:
    """Entra ID authentication for ingestion (infra/ disables the resource's local auth): the host's own
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING, `ClientId=<managed identity>;Authorization=AAD`."""
    parts = dict(part.split("=", 1) for part in environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "").split(";") if "=" in part)
    if parts.get("Authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=parts.get("ClientId") or None)


def configure(environ: Mapping[str, str] | None = None) -> bool:
    """Install the log context and, when the connection string is set, Azure Monitor; True if exporting."""
    env = os.environ if environ is None else environ
    install_log_context()
    connection_string = env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
    if not connection_string or _state["azure_monitor"]:
        return _state["azure_monitor"]
    from azure.monitor.opentelemetry import configure_azure_monitor

    # The Azure SDKs log each HTTP request at INFO, and the exporter each transmission: exported, every
    # export would log something to export, without end (and request headers are noise there anyway).
    logging.getLogger("azure").setLevel(logging.WARNING)
    configure_azure_monitor(
        connection_string=connection_string,
        credential=_credential(env),
        enable_live_metrics=False,
        instrumentation_options={name: {"enabled": False} for name in _UNUSED_INSTRUMENTATIONS},
    )
    _state["azure_monitor"] = True
    return True
