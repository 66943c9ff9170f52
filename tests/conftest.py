"""Shared fixtures: the real local stack (Azurite, the local B2C, the dev host) on free ports.

One stack per test session keeps the suite fast; tests isolate themselves by creating
their own invitations (random ids, their own e-mail addresses).
"""

from __future__ import annotations

import email
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.data.tables import TableServiceClient

from scripts.stack import LocalStack, StackConfig
from tests.fakes.acs_email_server import AcsEmailFake

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def invitation_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/invitations body for a fresh, unique invitee."""
    body: dict[str, Any] = {
        "invitee": {"email": f"anna.{uuid.uuid4().hex[:8]}@contoso.example", "displayName": "Anna Keller"},
        "inviter": {"name": "Mohamed-Nour, Tamer", "organisation": "GFMS"},
        "company": {
            "name": "Contoso Precision AG",
            "street": "Industriestrasse 12",
            "postalCode": "8500",
            "city": "Frauenfeld",
            "country": "CH",
            "vatNumber": "CHE-123.456.789",
            "phone": "+41 52 123 45 67",
            "website": "https://contoso.example",
        },
        "role": "admin",
        "language": "en",
    }
    body.update(overrides)
    return body


class Api:
    """The staff API over HTTP, with the function key."""

    def __init__(self, stack: LocalStack) -> None:
        self.base = f"{stack.base_url}/api"
        self.session = requests.Session()
        self.session.headers["x-functions-key"] = stack.config.functions_key

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.base + path, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kwargs)

    def invite(self, **overrides: Any) -> dict[str, Any]:
        response = self.post("/invitations", json=invitation_body(**overrides))
        assert response.status_code == 201, response.text
        return response.json()


class Outbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def messages_to(self, address: str) -> list[Message]:
        found = []
        for path in sorted(self.folder.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes())
            if address.lower() in str(message["To"]).lower():
                found.append(message)
        return found


@pytest.fixture(scope="session")
def acs_fake() -> Iterator[AcsEmailFake]:
    with AcsEmailFake() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The app with the local outbox (no ACS connection string), as `make run` has it."""
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("stack"), app_env={"REDIRECT_ALLOWLIST": "https://portal.rconnect.example"})
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
def api(stack: LocalStack) -> Api:
    return Api(stack)


@pytest.fixture(scope="session")
def outbox(stack: LocalStack) -> Outbox:
    return Outbox(stack.outbox)


@pytest.fixture(scope="session")
def tables(stack: LocalStack) -> TableServiceClient:
    """Direct access to the stack's Azurite, to check what was stored."""
    return TableServiceClient.from_connection_string(stack.tables_connection_string)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
