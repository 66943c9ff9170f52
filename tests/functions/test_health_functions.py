"""GET /api/health in-process: the result of each check, 503 + Retry-After when one fails, and a
misconfigured app answering 503 everywhere (naming the setting, never its value) instead of 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from accept_invitation.email_link import open_invitation_link
from invite_user.health import health
from invite_user.invitations_api import create_invitation
from shared.wiring import Services
from tests.azurite import closed_storage
from tests.functions.conftest import call, configure, request
from tests.support import invitation_body

BAD_SECRET = "too-short-secret-value"


def get_health() -> tuple[int, dict[str, str], dict[str, Any]]:
    response = call(health, request("GET", "/api/health"))
    return response.status_code, dict(response.headers), json.loads(response.get_body())


def test_each_check_is_reported_and_b2c_down_is_a_503(app: Services) -> None:
    status, headers, body = get_health()
    checks = body["checks"]
    assert {name: check["status"] for name, check in checks.items()} == {
        "settings": "ok",
        "storage": "ok",
        "queues": "ok",
        "identity": "failed",  # the function tests' B2C is down
    }
    assert status == 503 and body["status"] == "unhealthy" and headers["Retry-After"] == "30"
    # which platform, where (the authority names no secret) and the error's kind
    assert re.fullmatch(
        r"b2c-user-flow at https://127\.0\.0\.1:\d+/rconnectdev\.onmicrosoft\.com/B2C_1_signupsignin: ConnectionError",
        checks["identity"]["detail"],
    )
    assert all(isinstance(check["durationMs"], int) for check in checks.values())


def test_storage_down_fails_the_storage_and_queue_checks(app: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, STORAGE=closed_storage())
    try:
        status, _, body = get_health()
    finally:
        configure(monkeypatch)
    assert status == 503
    assert body["checks"]["storage"]["status"] == body["checks"]["queues"]["status"] == "failed"
    assert body["checks"]["storage"]["detail"] == "ServiceRequestError"


@pytest.fixture
def misconfigured(app: Services, monkeypatch: pytest.MonkeyPatch) -> Any:
    # A public deployment that kept a weak session secret.
    configure(
        monkeypatch,
        PUBLIC_BASE_URL="https://invite.rconnect.example",
        SESSION_SECRET=BAD_SECRET,
        B2C_CLIENT_SECRET="a-real-looking-b2c-secret",
        ACS_ENDPOINT="https://rconnect.communication.azure.com",
    )
    yield
    for name in ("PUBLIC_BASE_URL", "SESSION_SECRET", "B2C_CLIENT_SECRET", "ACS_ENDPOINT"):
        monkeypatch.delenv(name)
    configure(monkeypatch)


def test_misconfigured_app_is_unhealthy_naming_the_setting(misconfigured: None) -> None:
    status, headers, body = get_health()
    assert status == 503 and headers["Retry-After"] == "300"
    assert body["checks"]["settings"]["status"] == "failed"
    assert "SESSION_SECRET" in body["checks"]["settings"]["detail"]
    assert {body["checks"][name]["status"] for name in ("storage", "queues", "identity")} == {"skipped"}
    assert BAD_SECRET not in json.dumps(body)


def test_misconfigured_app_answers_503_not_500(misconfigured: None) -> None:
    body, json_type = json.dumps(invitation_body()).encode(), {"Content-Type": "application/json"}
    api = call(create_invitation, request("POST", "/api/invitations", body=body, headers=json_type))
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    problem = json.loads(api.get_body())
    assert problem["type"].endswith("/settings-invalid") and "SESSION_SECRET" in problem["detail"]
    assert BAD_SECRET not in api.get_body().decode() and api.headers["Retry-After"] == "300"
    page = call(open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": "8e1c3c9e-8b1f-4a51-9c55-2d0f1d1d8e11"}))
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert BAD_SECRET not in page.get_body().decode() and "SESSION_SECRET" not in page.get_body().decode()
