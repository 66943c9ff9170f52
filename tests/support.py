"""Clients for the tests: the staff API, the local outbox, and sample invitations."""

from __future__ import annotations

import copy
import email
import hashlib
import uuid
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests

from scripts.run_local import DEMO_INVITATION
from scripts.stack import LocalStack


def unique_email(prefix: str = "anna", domain: str = "contoso.example") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}@{domain}"


def tenant_guid(domain: str) -> str:
    """The local IdP's deterministic tenant id of a domain (see idp/server.mjs)."""
    return str(uuid.UUID(hashlib.sha256(f"tenant:{domain.lower()}".encode()).hexdigest()[:32]))


def invitation_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/invitations body for a fresh, unique invitee: `make run`'s demo invitation
    (its company data) in English, as an admin, without the optional message and ttlDays."""
    body: dict[str, Any] = copy.deepcopy(DEMO_INVITATION)
    for optional in ("message", "ttlDays"):
        body.pop(optional, None)
    body["invitee"]["email"] = unique_email()
    body["role"] = "admin"
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
    """The local stack's .eml outbox."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"))

    def messages_to(self, address: str) -> list[EmailMessage]:
        found = []
        for path in self.files():
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            if address.lower() in str(message["To"]).lower():
                found.append(message)
        return found
