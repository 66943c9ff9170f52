"""GET /api/health through the dev host: anonymous, 200 when everything answers, no secret in it."""

import requests

from tools.localstack.stack import AZURITE_ACCOUNT_KEY, LocalStack


def test_health_is_anonymous_and_healthy_on_the_local_stack(stack: LocalStack) -> None:
    response = requests.get(f"{stack.base_url}/api/health", timeout=30)  # no function key
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "healthy"
    assert {name: check["status"] for name, check in body["checks"].items()} == dict.fromkeys(
        ("settings", "storage", "queues", "identity"), "ok"
    )
    assert body["checks"]["identity"]["detail"].startswith(f"{stack.config.identity_platform} at https://localhost:")
    assert response.headers["Cache-Control"] == "no-store" and "Retry-After" not in response.headers
    assert AZURITE_ACCOUNT_KEY not in response.text and "AccountKey" not in response.text
