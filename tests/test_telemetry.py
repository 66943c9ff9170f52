"""Telemetry: Azure Monitor only when APPLICATIONINSIGHTS_CONNECTION_STRING is set (and imported only
then), log records carrying the invitation id as a custom dimension, and a whole journey's log
holding the invitation id and none of the secrets that passed through the app."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.http import JsonHandler
from tests.support import Api, eventually, invitation_body, user_token
from tests.test_invitee_pages import Invitee, invite  # noqa: F401  (invite is a fixture)
from tools.localstack.stack import ROOT, LocalStack

INVITATION = "0f8fad5b-d9cb-469f-a165-70867728950e"
EMIT = f"""
import logging
import function_app
from shared.log_context import invitation_context
logging.getLogger().setLevel(logging.INFO)
with invitation_context("{INVITATION}"):
    logging.getLogger("shared.services.example").warning("about an invitation")
logging.getLogger("shared.services.example").warning("about nothing in particular")
from shared import telemetry
telemetry.flush()
import sys
print("azure.monitor.opentelemetry" in sys.modules)
"""


def run_app_process(program: str = EMIT, **environment: str) -> str:
    env = {name: value for name, value in os.environ.items() if not name.startswith("APPLICATIONINSIGHTS_")}
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env={**env, **environment}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def ingestion() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback Application Insights ingestion endpoint (POST /v2.1/track) collecting the envelopes."""
    envelopes: list[dict[str, Any]] = []

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path.endswith("/v2.1/track"):
                envelopes.extend(json.loads(body))
            self.reply(200, {"itemsReceived": 1, "itemsAccepted": 1, "errors": []})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", envelopes
    finally:
        server.shutdown()
        server.server_close()


def test_without_a_connection_string_azure_monitor_is_not_even_imported() -> None:
    assert run_app_process() == "False"


def test_logs_reach_application_insights_with_the_invitation_id(ingestion: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, envelopes = ingestion
    connection_string = f"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={endpoint}"
    assert (
        run_app_process(APPLICATIONINSIGHTS_CONNECTION_STRING=connection_string, APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true")
        == "True"
    )
    messages = {
        envelope["data"]["baseData"]["message"]: envelope["data"]["baseData"].get("properties", {})
        for envelope in envelopes
        if envelope["name"].endswith("Message")
    }
    assert messages["about an invitation"]["invitation_id"] == INVITATION
    assert "invitation_id" not in messages["about nothing in particular"]


FUNNEL_STEP = """
from datetime import date
from shared import telemetry
from shared.domain.funnel import Tally
telemetry.record_funnel_step(Tally(date(2030, 3, 5), "opened", "deliveredToOpened", 90))  # before it is configured: nothing
print(telemetry.configure())
telemetry.flush()
telemetry.record_funnel_step(Tally(date(2030, 3, 5), "signedIn", "openedToSignedIn", 120))
telemetry.flush()
"""


def test_funnel_steps_reach_application_insights_as_custom_metrics(ingestion: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, envelopes = ingestion
    connection_string = f"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={endpoint}"
    environment = {"APPLICATIONINSIGHTS_CONNECTION_STRING": connection_string, "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true"}
    assert run_app_process(FUNNEL_STEP, **environment) == "True"
    metrics = [
        (metric["name"], envelope["data"]["baseData"].get("properties", {}))
        for envelope in envelopes
        if envelope["name"].endswith("Metric")
        for metric in envelope["data"]["baseData"]["metrics"]
        if metric["name"].startswith("invitations.funnel.")
    ]
    assert ("invitations.funnel.steps", {"step": "signedIn"}) in metrics
    assert ("invitations.funnel.step_duration", {"interval": "openedToSignedIn"}) in metrics
    assert all(properties.get("step") != "opened" for _, properties in metrics)  # recorded before Azure Monitor was configured


# Azure Monitor's import is held until the app was imported and has logged: the start-up does not wait
# for the distro (it is configured on a thread), and what is logged meanwhile is exported once it is ready.
HELD_IMPORT = """
import importlib.abc, importlib.machinery, sys, threading
release = threading.Event()
class Held(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader
    def create_module(self, spec):
        return self.loader.create_module(spec)
    def exec_module(self, module):
        assert threading.current_thread() is not threading.main_thread(), "the app's import waited for Azure Monitor"
        release.wait(10)  # outside the import lock, as a slow import is
        self.loader.exec_module(module)
class Hold(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "azure.monitor.opentelemetry":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        spec.loader = Held(spec.loader)
        return spec
sys.meta_path.insert(0, Hold())
import logging
import function_app
logging.getLogger().setLevel(logging.INFO)
logging.getLogger("shared.services.example").warning("logged while the exporter was configured")
release.set()
from shared import telemetry
telemetry.flush()
print("azure.monitor.opentelemetry" in sys.modules)
"""


def test_the_app_starts_without_waiting_for_azure_monitor_and_loses_no_log(ingestion: tuple[str, list[dict[str, Any]]]) -> None:
    endpoint, envelopes = ingestion
    connection_string = f"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={endpoint}"
    output = run_app_process(
        HELD_IMPORT, APPLICATIONINSIGHTS_CONNECTION_STRING=connection_string, APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true"
    )
    assert output == "True"
    messages = [envelope["data"]["baseData"]["message"] for envelope in envelopes if envelope["name"].endswith("Message")]
    assert messages.count("logged while the exporter was configured") == 1


def test_a_journeys_log_names_the_invitation_and_holds_no_secret(stack: LocalStack, api: Api, invite: Any) -> None:
    token = user_token(stack)
    invitee: Invitee = invite()  # created with the function key
    assert api.get(f"/invitations/{invitee.id}", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    started = invitee.start()
    assert started.status_code == 302
    sign_in_cookie = invitee.cookie
    callback = invitee.at_idp(started.headers["Location"])
    code = parse_qs(urlsplit(callback).query)["code"][0]
    signed_in = invitee.get(callback, cookie=invitee.cookie)
    assert signed_in.status_code == 302, signed_in.text[:2000]
    session = signed_in.cookies.get("rconnect_session") or signed_in.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    invitee.cookie = session
    submitted = invitee.submit(invitee.company_form())
    assert submitted.status_code in (200, 302, 303), submitted.text[:2000]

    log = stack.log_text("app")
    assert f"[invitation {invitee.id}]" in log  # the custom dimension, as the dev host shows it
    # The callback's URL names no invitation: it comes from the sign-in cookie.
    assert f"Sign-in callback: accepted, answered 302 [invitation {invitee.id}]" in log
    secrets = {
        "session secret": stack.session_secret,
        "function key": stack.config.functions_key,
        "staff bearer token": token,
        "sign-in cookie": sign_in_cookie,
        "session cookie": session,
        "authorization code": code,
    }
    leaked = [name for name, value in secrets.items() if value and value in log]
    assert leaked == []


def test_the_email_workers_log_names_the_invitation(stack: LocalStack, api: Api) -> None:
    # A queue invocation has no request to take the invitation from: the worker puts it in context.
    created = api.post("/invitations", json=invitation_body())
    assert created.status_code == 201, created.text
    invitation_id, send_id = created.json()["id"], created.json()["email"]["sendId"]
    sent_line = f"Invitation {invitation_id} e-mail {send_id}: sent"
    line = eventually(
        lambda: next((line for line in stack.log_text("app").splitlines() if sent_line in line), None), "the e-mail worker's log line"
    )
    assert line.endswith(f"[invitation {invitation_id}]")
