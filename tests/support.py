"""Clients for the tests: the staff API, the local outbox, and sample invitations."""

from __future__ import annotations

import copy
import email
import hashlib
import time
import uuid
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import requests

from tools.localstack.run_local import DEMO_INVITATION
from tools.localstack.stack import STAFF_API_AUDIENCE, STAFF_TENANT_ID, LocalStack

# The local IdP's staff tenant (tools/idp/staff.mjs): a staff user with the app role Invitations.Manage.
STAFF_ADMIN = "staff.admin@rconnect.example"
STAFF_PASSWORD = "Staff-local-password-1"

T = TypeVar("T")
SETTLE_SECONDS = 60.0  # how long a test waits for the queue workers before calling it a failure


def eventually(probe: Callable[[], T | None], what: str, timeout: float = SETTLE_SECONDS) -> T:
    """Poll `probe` until it returns something truthy (and return that), or fail naming `what`.

    Side effects run from queues: a test waits for their outcome, boundedly, instead of sleeping.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def unique_email(prefix: str = "anna", domain: str = "contoso.example") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}@{domain}"


def tenant_guid(domain: str) -> str:
    """The local IdP's deterministic tenant id of a domain (see tools/idp/server.mjs)."""
    return str(uuid.UUID(hashlib.sha256(f"tenant:{domain.lower()}".encode()).hexdigest()[:32]))


def invitation_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/invitations body for a fresh, unique invitee: `make run`'s demo invitation
    (its company data) in English, as an admin, without the optional message and ttlDays."""
    body: dict[str, Any] = copy.deepcopy(DEMO_INVITATION)
    for optional in ("message", "ttlDays"):
        body.pop(optional, None)
    body["invitee"] = {"email": unique_email(), "displayName": "Anna Keller"}
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
        """Create an invitation and return it as GET shows it once its e-mail went out (or failed):
        tests that start from an invitation see the state staff see a moment after creating it."""
        response = self.post("/invitations", json=invitation_body(**overrides))
        assert response.status_code == 201, response.text
        return self.email_settled(response.json()["id"])

    def invitation(self, invitation_id: str) -> dict[str, Any]:
        response = self.get(f"/invitations/{invitation_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def email_settled(self, invitation_id: str, *states: str) -> dict[str, Any]:
        """The invitation once its e-mail left the `queued` state (or reached one of `states`)."""

        def settled() -> dict[str, Any] | None:
            invitation = self.invitation(invitation_id)
            status = invitation["email"]["status"]
            return invitation if (status in states if states else status != "queued") else None

        return eventually(settled, f"the e-mail of invitation {invitation_id} to be {' or '.join(states) or 'settled'}")


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

    def wait_for(self, address: str, count: int = 1) -> list[EmailMessage]:
        """The messages to `address` once at least `count` arrived through the e-mail queue."""
        return eventually(
            lambda: found if len(found := self.messages_to(address)) >= count else None,
            f"{count} e-mail(s) to {address} in the outbox",
        )


def staff_token(stack: LocalStack, **form: str) -> str:
    """An access token for the staff API from the local IdP's staff tenant."""
    form.setdefault("scope", f"{STAFF_API_AUDIENCE}/.default")
    response = requests.post(f"{stack.idp_url}/{STAFF_TENANT_ID}/oauth2/v2.0/token", data=form, verify=str(stack.ca_bundle), timeout=30)
    assert response.status_code == 200, response.text
    access_token: str = response.json()["access_token"]
    return access_token


def user_token(stack: LocalStack, username: str = STAFF_ADMIN, **form: str) -> str:
    return staff_token(
        stack, grant_type="password", client_id="rconnect-staff-cli-local", username=username, password=STAFF_PASSWORD, **form
    )


def app_token(stack: LocalStack, client_id: str, secret: str) -> str:
    return staff_token(stack, grant_type="client_credentials", client_id=client_id, client_secret=secret)
