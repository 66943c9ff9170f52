"""Telemetry: Azure Monitor (OpenTelemetry) when APPLICATIONINSIGHTS_CONNECTION_STRING is set, and
the invitation a log line is about on the record itself.

The Application Insights settings are the host's (it reads the same variables), so they are read
from the environment here rather than through the app's Settings. The distro is imported only when
the connection string is set, on a background thread: it is heavy (over a second to import) and a
cold start would pay for it; records logged meanwhile are held and exported once it is ready.

Every log record created while an invitation is in context (`shared.log_context`) carries the
attribute `invitation_id`; the OpenTelemetry log handler exports a record's extra attributes, so it
is a custom dimension in Application Insights (`customDimensions.invitation_id`), filterable without
parsing messages. Nothing else is added: no cookie, token or secret is ever put on a record, and the
HTTP instrumentations record URLs and status codes, not headers or bodies.
"""

import atexit
import logging
import os
import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from shared.domain.funnel import Tally
from shared.log_context import install_log_context

# The distro instruments these libraries by default; the app uses none of them.
_UNUSED_INSTRUMENTATIONS = ("django", "fastapi", "flask", "httpx", "psycopg2")
# The distro attaches its log handler to this logger, which nothing logs to; the gate forwards to it.
_EXPORT_LOGGER = "rconnect.telemetry.export"
_BUFFERED = 10_000  # records kept while the exporter is being configured (the oldest go first beyond)
_state: dict[str, "_Gate | None"] = {"gate": None}


def _credential(environ: Mapping[str, str]) -> Any:
    """Entra ID authentication for ingestion (infra/ disables the resource's local auth): the host's own
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING, `ClientId=<managed identity>;Authorization=AAD`."""
    parts = dict(part.split("=", 1) for part in environ.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "").split(";") if "=" in part)
    if parts.get("Authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential  # on the exporter's thread, with the distro

    return ManagedIdentityCredential(client_id=parts.get("ClientId") or None)


class _Gate(logging.Handler):
    """The root logger's way to Azure Monitor: it keeps the records logged while the distro is being
    imported and configured (about a second, off the start-up path), then hands them and every later
    record to the distro's handlers, in order."""

    def __init__(self) -> None:
        super().__init__()
        self._held: list[logging.LogRecord] = []
        self._targets: list[logging.Handler] | None = None
        self.ready = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock:  # type: ignore[union-attr]  # Handler.createLock made it
            if self._targets is None:
                self._held = [*self._held[-(_BUFFERED - 1) :], record]
                return
            targets = self._targets
        for target in targets:
            if record.levelno >= target.level:
                target.handle(record)

    def open(self, targets: list[logging.Handler]) -> None:
        with self.lock:  # type: ignore[union-attr]
            held, self._held, self._targets = self._held, [], targets
            # Flushed under the lock, so no later record overtakes a held one.
            for record in held:
                for target in targets:
                    if record.levelno >= target.level:
                        target.handle(record)
        self.ready.set()


def _configure_azure_monitor(gate: _Gate, connection_string: str, env: Mapping[str, str]) -> None:
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=connection_string,
            credential=_credential(env),
            logger_name=_EXPORT_LOGGER,
            enable_live_metrics=False,
            instrumentation_options={name: {"enabled": False} for name in _UNUSED_INSTRUMENTATIONS},
        )
        gate.open(logging.getLogger(_EXPORT_LOGGER).handlers)
    except Exception:
        logging.getLogger(__name__).exception("Azure Monitor could not be configured; logs are not exported")
        gate.open([])


def configure(environ: Mapping[str, str] | None = None) -> bool:
    """Install the log context and, when the connection string is set, start configuring Azure Monitor
    on a background thread (the distro takes over a second to import: a cold start would pay it);
    what is logged meanwhile is exported once it is ready. True if exporting."""
    env = os.environ if environ is None else environ
    install_log_context()
    connection_string = env.get("APPLICATIONINSIGHTS_CONNECTION_STRING", "").strip()
    if not connection_string or _state["gate"] is not None:
        return _state["gate"] is not None
    # The Azure SDKs log each HTTP request at INFO, and the exporter each transmission: exported, every
    # export would log something to export, without end (and request headers are noise there anyway).
    logging.getLogger("azure").setLevel(logging.WARNING)
    gate = _state["gate"] = _Gate()
    logging.getLogger().addHandler(gate)
    threading.Thread(target=_configure_azure_monitor, args=(gate, connection_string, env), name="azure-monitor", daemon=True).start()
    atexit.register(flush)
    return True


def record_funnel_step(tally: Tally) -> None:
    """A funnel step as custom metrics (`invitations.funnel.steps`, a counter by step, and
    `invitations.funnel.step_duration`, seconds by interval), only while Azure Monitor is configured."""
    gate = _state["gate"]
    if gate is None or not gate.ready.is_set():
        return
    steps, durations = _funnel_instruments()
    steps.add(1, {"step": tally.step})
    if tally.interval is not None and tally.seconds is not None:
        durations.record(tally.seconds, {"interval": tally.interval})


@lru_cache
def _funnel_instruments() -> tuple[Any, Any]:
    from opentelemetry import metrics

    meter = metrics.get_meter("rconnect.invitations.funnel")
    return (
        meter.create_counter("invitations.funnel.steps", unit="1", description="Onboarding funnel steps taken"),
        meter.create_histogram("invitations.funnel.step_duration", unit="s", description="Time since the funnel's previous step"),
    )


def flush(timeout: float = 10) -> None:
    """Wait for the exporter (up to `timeout` s) and export what is logged and measured so far: at exit, and for tests."""
    gate = _state["gate"]
    if gate is None or not gate.ready.wait(timeout):
        return
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.metrics import get_meter_provider

    for provider in (get_logger_provider(), get_meter_provider()):
        if hasattr(provider, "force_flush"):
            provider.force_flush()
