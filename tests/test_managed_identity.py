"""The composition root's identity path for real: the app (dev host) with only the account URLs and
a managed identity, against Azurite over HTTPS with `--oauth basic` (it checks each bearer token's
issuer, audience and lifetime), the identity served by an App Service managed-identity endpoint
stand-in (tests/fakes/managed_identity.py), the TLS trusted through the project's CA."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fakes.managed_identity import ManagedIdentityEndpoint
from tests.support import Api, invitation_body
from tools.localstack.stack import LocalStack, StackConfig

CLIENT_ID = "6a1f0c9e-2b7d-4e8a-9c3f-0d5e7b1a2c44"  # the user-assigned identity STORAGE__clientId names


@pytest.fixture(scope="module")
def msi() -> Iterator[ManagedIdentityEndpoint]:
    with ManagedIdentityEndpoint(CLIENT_ID) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def identity_stack(tmp_path_factory: pytest.TempPathFactory, msi: ManagedIdentityEndpoint) -> Iterator[LocalStack]:
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("identity-stack"), storage_oauth=True)
    table_uri = f"https://127.0.0.1:{config.table_port}/devstoreaccount1"
    queue_uri = f"https://127.0.0.1:{config.queue_port}/devstoreaccount1"
    identity = {"__credential": "managedidentity", "__clientId": CLIENT_ID}
    config.app_env = {
        # No connection string anywhere (an empty setting is an unset one), as in Azure with shared keys off.
        "STORAGE": "",
        "AzureWebJobsStorage": "",
        "STORAGE__tableServiceUri": table_uri,
        "STORAGE__queueServiceUri": queue_uri,
        **{f"STORAGE{suffix}": value for suffix, value in identity.items()},
        "AzureWebJobsStorage__queueServiceUri": queue_uri,
        **{f"AzureWebJobsStorage{suffix}": value for suffix, value in identity.items()},
        **msi.environment(),
    }
    with LocalStack(config) as running:
        yield running


def restart_app(stack: LocalStack) -> None:
    """A fresh process: no token cached from before."""
    stack.stop_service("app")
    stack.start_service("app")


def test_azurite_refuses_a_request_without_a_token(identity_stack: LocalStack) -> None:
    response = requests.get(f"{identity_stack.table_service_uri}/Tables", verify=str(identity_stack.ca_bundle), timeout=10)
    assert response.status_code in (401, 403), response.text


def test_invitation_created_and_read_with_the_managed_identity(identity_stack: LocalStack, msi: ManagedIdentityEndpoint) -> None:
    msi.mode = "valid"
    api = Api(identity_stack)
    invitation = api.invite()
    read = api.get(f"/invitations/{invitation['id']}")
    assert read.status_code == 200 and read.json()["invitee"]["email"] == invitation["invitee"]["email"]
    health = requests.get(f"{identity_stack.base_url}/api/health", timeout=30)
    assert health.status_code == 200, health.text
    # The tokens came from the identity endpoint, for Storage, for the identity STORAGE__clientId names.
    assert msi.refused == 0 and msi.requests
    assert {(query["resource"], query["client_id"]) for query in msi.requests} == {("https://storage.azure.com", CLIENT_ID)}


@pytest.mark.parametrize("mode", ["wrong-audience", "expired"])
def test_a_token_storage_refuses_is_a_503_not_a_500(identity_stack: LocalStack, msi: ManagedIdentityEndpoint, mode: str) -> None:
    msi.mode = mode  # type: ignore[assignment]
    restart_app(identity_stack)
    try:
        api = Api(identity_stack)
        created = api.post("/invitations", json=invitation_body())
        health = requests.get(f"{identity_stack.base_url}/api/health", timeout=30)
        # Why: Azurite's answer to such a token (the app keeps the SDK's message out of its answers).
        token = msi.token("https://storage.azure.com")
        refusal = requests.get(
            f"{identity_stack.table_service_uri}/Tables",
            headers={"Authorization": f"Bearer {token}", "x-ms-version": "2019-02-02", "Accept": "application/json"},
            verify=str(identity_stack.ca_bundle),
            timeout=10,
        )
    finally:
        msi.mode = "valid"
        restart_app(identity_stack)
    assert created.status_code == 503, created.text
    assert created.headers["Content-Type"].startswith("application/problem+json") and "Retry-After" in created.headers
    assert health.status_code == 503
    checks = health.json()["checks"]
    assert checks["storage"]["status"] == checks["queues"]["status"] == "failed"
    assert "HTTP 403" in checks["storage"]["detail"] or "HTTP 401" in checks["storage"]["detail"], checks
    assert refusal.status_code == 403
    assert ("Invalid token audience" if mode == "wrong-audience" else "The token is expired") in refusal.text
