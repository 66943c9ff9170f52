"""X-MS-CLIENT-PRINCIPAL-NAME names the actor only when the platform says App Service Authentication
is on (WEBSITE_AUTH_ENABLED=True): then Easy Auth, in front of the app, set it from a validated token."""

from __future__ import annotations

import json

import pytest

from invite_user.invitations_api import create_invitation, get_invitation
from shared.wiring import Services
from tests.functions.conftest import call, configure, request
from tests.support import invitation_body


def actor_of_a_new_invitation() -> str:
    headers = {
        "content-type": "application/json",
        "x-ms-client-principal-name": "anna.staff@rconnect.example",
        "x-ms-client-principal-idp": "aad",
    }
    created = call(create_invitation, request("POST", "/api/invitations", body=json.dumps(invitation_body()).encode(), headers=headers))
    assert created.status_code == 201, created.get_body()
    invitation_id = json.loads(created.get_body())["id"]
    read = call(get_invitation, request("GET", f"/api/invitations/{invitation_id}", route_params={"id": invitation_id}))
    actor: str = json.loads(read.get_body())["history"][0]["actor"]
    return actor


@pytest.mark.parametrize(
    ("setting", "actor"), [("True", "anna.staff@rconnect.example"), (None, "staff-api-key"), ("False", "staff-api-key")]
)
def test_the_principal_header_is_trusted_only_with_app_service_authentication(
    app: Services, monkeypatch: pytest.MonkeyPatch, setting: str | None, actor: str
) -> None:
    if setting is None:
        monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
        configure(monkeypatch)
    else:
        configure(monkeypatch, WEBSITE_AUTH_ENABLED=setting)
    try:
        assert actor_of_a_new_invitation() == actor
    finally:
        monkeypatch.delenv("WEBSITE_AUTH_ENABLED", raising=False)
        configure(monkeypatch)
