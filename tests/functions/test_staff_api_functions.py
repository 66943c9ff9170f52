"""The staff API's functions in-process: status codes, problem+json, headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from invite_user.email_queue import send_invitation_email
from invite_user.invitations_api import create_invitation, get_invitation, revoke_invitation
from invite_user.openapi_document import openapi_document
from shared.adapters.staff_tokens import STAFF_ROLE
from shared.wiring import Services
from tests.azurite import closed_storage
from tests.functions.conftest import call, configure, request
from tests.support import invitation_body
from web import openapi


def post_invitation(body: bytes, **headers: str) -> Any:
    return call(create_invitation, request("POST", "/api/invitations", body=body, headers={"Content-Type": "application/json", **headers}))


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(response.get_body())
    assert body["status"] == status and body["type"].endswith("/" + code), body
    return body


@pytest.fixture
def storage_down(app: Services, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    configure(monkeypatch, STORAGE=closed_storage())
    yield
    configure(monkeypatch)  # the next call builds the services again, from the restored settings


def test_create_answers_201_with_location_and_the_queue_function_sends_the_email(app: Services, outbox: Path) -> None:
    body = invitation_body()
    response = post_invitation(json.dumps(body).encode())
    assert response.status_code == 201, response.get_body()
    created = json.loads(response.get_body())
    assert response.headers["Location"] == f"/api/invitations/{created['id']}"
    assert created["inviteRedeemUrl"] == f"http://localhost:7071/api/InviteUser?invitationId={created['id']}"
    assert created["email"]["status"] == "queued"

    # The message the handler enqueued, as the host hands it to the queue function.
    message = func.QueueMessage(body=json.dumps({"invitationId": created["id"], "sendId": created["email"]["sendId"]}).encode())
    for _ in range(2):  # a redelivered message sends nothing more
        send_invitation_email.build().get_user_function()(message)
    assert [body["invitee"]["email"] in path.read_text() for path in outbox.glob("*.eml")].count(True) == 1
    sent = json.loads(
        call(get_invitation, request("GET", f"/api/invitations/{created['id']}", route_params={"id": created["id"]})).get_body()
    )
    assert sent["email"]["status"] == "sent"


def test_a_create_may_opt_out_of_the_reminder_and_the_answer_says_so(app: Services) -> None:
    quiet = json.loads(post_invitation(json.dumps(invitation_body(reminders=False)).encode()).get_body())
    usual = json.loads(post_invitation(json.dumps(invitation_body()).encode()).get_body())
    assert (quiet["reminders"], usual["reminders"], usual["remindedAt"]) == (False, True, None)
    assert usual["email"]["kind"] == "invitation"
    problem(post_invitation(json.dumps(invitation_body(reminders="sometimes")).encode()), 422, "validation-error")


def test_a_replayed_idempotency_key_says_so(app: Services) -> None:
    body = json.dumps(invitation_body()).encode()
    first = post_invitation(body, **{"Idempotency-Key": "function-test-key"})
    again = post_invitation(body, **{"Idempotency-Key": "function-test-key"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert json.loads(again.get_body())["id"] == json.loads(first.get_body())["id"]


def test_malformed_json_is_a_400_problem(app: Services) -> None:
    problem(post_invitation(b"{not json"), 400, "malformed-json")


def test_a_redirect_outside_the_allow_list_is_refused(app: Services) -> None:
    body = invitation_body(redirectUrl="https://evil.example/welcome")
    problem(post_invitation(json.dumps(body).encode()), 400, "redirect-not-allowed")


def test_unknown_and_invalid_ids(app: Services) -> None:
    unknown = request("GET", "/api/invitations/x", route_params={"id": "00000000-0000-0000-0000-000000000000"})
    problem(call(get_invitation, unknown), 404, "NotFound")
    invalid = request("POST", "/api/invitations/x/revoke", route_params={"id": "x"})
    problem(call(revoke_invitation, invalid), 400, "invalid-id")


def test_storage_down_is_503_with_retry_after(storage_down: None) -> None:
    response = post_invitation(json.dumps(invitation_body()).encode())
    body = problem(response, 503, "storage-unavailable")
    assert int(response.headers["Retry-After"]) > 0
    assert "Traceback" not in body["detail"]


def test_the_openapi_document_names_the_api_prefix(app: Services) -> None:
    response = call(openapi_document, request("GET", "/api/openapi.json"))
    assert response.status_code == 200
    assert json.loads(response.get_body())["servers"] == [{"url": "http://localhost:7071/api"}]


def test_a_deployment_without_staff_tokens_documents_the_function_key_only() -> None:
    # (With STAFF_API_AUDIENCE set, tests/test_staff_identity.py checks the bearer scheme against real answers.)
    document = openapi.build("http://localhost:7071", tokens=None)
    assert set(document["components"]["securitySchemes"]) == {"functionKey", "functionKeyQuery"}
    assert document["security"] == [{"functionKey": []}, {"functionKeyQuery": []}]
    assert openapi.STAFF_ROLE == STAFF_ROLE  # spelled out there, so the document does not load PyJWT
