"""Services built in-process (shared.wiring.build) against Azurite, with their own clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import AnyHttpUrl, SecretStr

from shared.adapters.mail import OutboxEmailSender
from shared.settings import Settings
from shared.wiring import Services, build, create_tables, storage_clients
from tests.azurite import Azurite
from tools.localstack.stack import free_port


class Clock:
    """A clock the test moves: services read the time only through it. Each reading is a
    millisecond later than the one before, as real time would be."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


@pytest.fixture(scope="session")
def settings(azurite: Azurite) -> Settings:
    # Entra's discovery on a port nobody serves: the e-mail worker's tenant lookups fail at once (consent unknown).
    return Settings(
        storage=SecretStr(azurite.connection_string),
        redirect_allowlist=["https://portal.rconnect.example"],
        entra_login_host=AnyHttpUrl(f"http://127.0.0.1:{free_port()}"),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def app(settings: Settings, clock: Clock, outbox: Path) -> Services:
    clients = storage_clients(settings)
    create_tables(clients[0])
    return build(
        settings, clock=clock, sender=OutboxEmailSender(outbox, settings.acs_sender_address, settings.product_name), clients=clients
    )


ServicesFactory = Callable[[Settings], Services]


@pytest.fixture
def services_for(clock: Clock, outbox: Path) -> Iterator[ServicesFactory]:
    """Services for other settings (e.g. storage nobody serves)."""

    def make(settings: Settings) -> Services:
        return build(settings, clock=clock, sender=OutboxEmailSender(outbox, settings.acs_sender_address, settings.product_name))

    yield make
