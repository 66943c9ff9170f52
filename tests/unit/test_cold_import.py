"""Cold start: importing the app indexes its functions and imports nothing a request needs. The
settings, the SDKs, pydantic and its models, the templates and the cookies' cryptography are imported
by the first request that uses them (see function_app.py). Checked by the modules a fresh process
holds after the import, not by timing it, so a regression fails the same way on any machine
(the time itself is `make bench`'s)."""

import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import azure.functions as func

import function_app
from tools.devhost import index

ROOT = Path(__file__).resolve().parents[2]

DEFERRED = (
    # the SDKs and what they stand on
    "azure.core",
    "azure.data.tables",
    "azure.storage.queue",
    "azure.identity",
    "azure.communication",
    "azure.monitor",
    "opentelemetry",
    "msal",
    "jwt",
    "requests",
    "urllib3",
    "cryptography",
    # pydantic, and what the models validate with
    "pydantic",
    "pydantic_core",
    "pydantic_settings",
    "email_validator",
    "pycountry",
    # rendering
    "jinja2",
    # the app's own modules behind them
    "shared.settings",
    "shared.domain.models",
    "shared.domain.batches",
    "shared.services",
    "shared.adapters.tables",
    "shared.adapters.queues",
    "shared.adapters.identity",
    "shared.adapters.staff_tokens",
    "shared.adapters.mail",
    "shared.presentation",
    "shared.health",
    "web.cookies",
    "web.openapi",
    "web.batch_body",
)

PROBE = "import json, sys; import function_app; print(json.dumps(sorted(sys.modules)))"
# The first request builds the services (shared.composition.build); what only some deployments use
# stays unimported until it is: MSAL (the invitee's sign-in), azure-identity (no connection string),
# PyJWT (STAFF_API_AUDIENCE), the ACS SDK (ACS_*), Azure Monitor (APPLICATIONINSIGHTS_*).
BUILD_PROBE = """
import json, sys
import function_app
from shared.composition import build, storage_clients
from shared.settings import get_settings
build(get_settings(), clients=storage_clients(get_settings()))
print(json.dumps(sorted(sys.modules)))
"""
ONLY_WHEN_USED = ("msal", "azure.identity", "jwt", "azure.communication", "azure.monitor", "opentelemetry")


def _loaded(probe: str) -> list[str]:
    """The modules a fresh process holds after `probe`, with the settings of a local run: a storage
    connection string (Azurite's), no ACS, no staff bearer tokens, no Application Insights (with it,
    telemetry.configure imports the Azure Monitor distro, on a thread of its own)."""
    unset = ("APPLICATIONINSIGHTS_", "ACS_", "STAFF_API_", "STORAGE")
    env = {name: value for name, value in os.environ.items() if not name.startswith(unset)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def _among(loaded: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [name for name in loaded if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)]


def test_importing_the_app_imports_nothing_a_request_needs() -> None:
    early = _among(_loaded(PROBE), DEFERRED)
    assert early == [], f"imported at cold start: {early}"


def test_building_the_services_imports_only_what_the_deployment_uses() -> None:
    early = _among(_loaded(BUILD_PROBE), ONLY_WHEN_USED)
    assert early == [], f"imported by the first request without being configured: {early}"


def test_the_worker_resolves_every_function_s_types() -> None:
    # The Python worker reads a function's parameter and return types with typing.get_type_hints when
    # it indexes the app: modules with `from __future__ import annotations` must keep them resolvable.
    triggers = {func.HttpRequest, func.QueueMessage, func.TimerRequest}
    for function in index(function_app.app):
        hints = typing.get_type_hints(function.get_user_function())
        returned = hints.pop("return")
        assert set(hints.values()) <= triggers, (function.get_function_name(), hints)
        assert returned in (func.HttpResponse, type(None)), (function.get_function_name(), returned)
