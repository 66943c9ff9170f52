"""Cold start: importing the app imports the function modules and what they use at the top, but not
the composition root (shared/wiring.py) with the Azure SDKs, MSAL and the stores: the first request
imports those through shared/composition.py, the one place that defers imports (two thirds of a cold
import, `make bench`). It reads no settings, and Azure Monitor (over 100 ms) is imported only when
APPLICATIONINSIGHTS_CONNECTION_STRING is set, on a thread of its own. Checked by the modules a fresh
process holds, not by timing it, so a regression fails the same way on any machine."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AZURE_MONITOR = ("azure.monitor", "opentelemetry")
# What the composition root imports for the first request, and indexing never needs.
FIRST_REQUEST = ("shared.wiring", "shared.adapters", "azure.data", "azure.storage", "azure.identity", "azure.communication", "msal", "jwt")
IMPORT_PROBE = "import json, sys; import function_app; print(json.dumps(sorted(sys.modules)))"
# The first request builds the services (shared.wiring.build).
BUILD_PROBE = """
import json, sys
import function_app
from shared.wiring import build, storage_clients
from shared.settings import get_settings
build(get_settings(), clients=storage_clients(get_settings()))
print(json.dumps(sorted(sys.modules)))
"""


def _run(probe: str, **settings: str) -> str:
    """The output of `probe` in a fresh process with the settings of a local run: a storage connection
    string (Azurite's), no ACS, no staff bearer tokens, no Application Insights; plus `settings`."""
    unset = ("APPLICATIONINSIGHTS_", "ACS_", "STAFF_API_", "STORAGE", "PUBLIC_BASE_URL")
    env = {name: value for name, value in os.environ.items() if not name.startswith(unset)} | settings
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def _among(loaded: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [name for name in loaded if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)]


def test_importing_the_app_leaves_the_composition_root_to_the_first_request() -> None:
    early = _among(json.loads(_run(IMPORT_PROBE)), FIRST_REQUEST)
    assert early == [], f"imported at cold start: {early}"


def test_azure_monitor_is_imported_only_when_application_insights_is_configured() -> None:
    loaded: list[str] = json.loads(_run(BUILD_PROBE))
    early = _among(loaded, AZURE_MONITOR)
    assert early == [], f"imported without being configured: {early}"


def test_invalid_settings_do_not_stop_the_app_from_indexing() -> None:
    # They are the first request's answer (a 503 naming them) and /api/health's, not an import error.
    probe = "import function_app; from tools.devhost import index; print(len(index(function_app.app)))"
    assert int(_run(probe, PUBLIC_BASE_URL="not a URL")) > 0
