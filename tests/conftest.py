"""Shared fixtures: the real local stack (Azurite, the local B2C, the dev host) on free ports.

One stack per test session keeps the suite fast; tests isolate themselves by creating
their own invitations (random ids, their own e-mail addresses).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from playwright.sync_api import Browser, sync_playwright

from tests.azurite import Azurite
from tests.fakes.acs_email_server import AcsEmailFake
from tests.queues import EventLog, Queues
from tests.storage import Stored
from tests.support import Api, Outbox
from tools.localstack.run_local import RUN_APP_SETTINGS
from tools.localstack.stack import LocalStack, StackConfig

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# The fuzz tests run with `database=None`, but Hypothesis' pytest plugin still caches other data
# (constants, Unicode tables) in ./.hypothesis once they are collected: keep that out of the work
# tree, unless the caller chose a place.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "rconnect-invitations-hypothesis")


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite alone, for the integration and function tests (tests/integration, tests/functions)."""
    with Azurite(tmp_path_factory.mktemp("azurite")) as running:
        yield running


@pytest.fixture(scope="session")
def acs_fake() -> Iterator[AcsEmailFake]:
    with AcsEmailFake() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The app with the local outbox (no ACS connection string) and B2C with custom policies, as `make run` has it."""
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("stack"), app_env=dict(RUN_APP_SETTINGS))
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def external_id_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The same app and stand-in in Microsoft Entra External ID's shape (`make run IDENTITY_PLATFORM=external-id`)."""
    config = StackConfig.on_free_ports(
        tmp_path_factory.mktemp("external-id"), app_env=dict(RUN_APP_SETTINGS), identity_platform="external-id"
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def acs_stack(tmp_path_factory: pytest.TempPathFactory, acs_fake: AcsEmailFake) -> Iterator[LocalStack]:
    """The app sending through the ACS e-mail REST API (the loopback fake checks the HMAC)."""
    config = StackConfig.on_free_ports(
        tmp_path_factory.mktemp("acs-stack"),
        app_env={"ACS_CONNECTION_STRING": acs_fake.connection_string, "ACS_SENDER_ADDRESS": "DoNotReply@mail.rconnect.example"},
        extra_ca_files=(Path(acs_fake.ca_file),),
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def sweeping_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack for the tests that stop its processes (each starts them again); it sweeps every 2 s, after 2 s."""
    config = StackConfig.on_free_ports(
        tmp_path_factory.mktemp("sweeping-stack"),
        app_env={"SWEEP_AFTER_SECONDS": "2", "SWEEP_SCHEDULE": "*/2 * * * * *"},
    )
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Api:
    return Api(stack)


@pytest.fixture(scope="session")
def acs_api(acs_stack: LocalStack) -> Api:
    """The staff API of the stack that sends through the ACS e-mail fake."""
    return Api(acs_stack)


@pytest.fixture(scope="session")
def acs_stored(acs_stack: LocalStack) -> Stored:
    return Stored.of(acs_stack)


@pytest.fixture(scope="session")
def outbox(stack: LocalStack) -> Outbox:
    return Outbox(stack.outbox)


@pytest.fixture(scope="session")
def stored(stack: LocalStack) -> Stored:
    """Direct access to the stack's Azurite, to check what was stored (see tests/storage.py)."""
    return Stored.of(stack)


@pytest.fixture(scope="session")
def queues(stack: LocalStack) -> Queues:
    """The stack's Storage Queues (see tests/queues.py)."""
    return Queues.of(stack)


@pytest.fixture(scope="session")
def events(queues: Queues) -> EventLog:
    """The session as the one consumer of `invitation-events`: every lifecycle event published so far."""
    return EventLog(queues)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# One Chromium per test session, for every browser test module (one Playwright per process).
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        # CI runs every test: a missing browser is a broken setup, never a reason to skip.
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `make test` (its `tools/localstack/bootstrap.sh --browser` "
            "installs Debian's chromium package), or `sudo apt-get install chromium`",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
