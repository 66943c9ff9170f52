"""Staff identity on the staff API, through the dev host with tokens from the local IdP's staff
tenant (tools/idp/staff.mjs, shaped like Entra ID v2.0 access tokens): the function key still opens the
route; a bearer token beside it names the person in the audit, and a token that does not pass is
refused (401, or 403 without the app role), never taken as the key's anonymous caller."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import jsonschema_rs
import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import STAFF_ADMIN as ADMIN
from tests.support import Api, app_token, invitation_body, user_token
from tools.localstack.stack import STAFF_API_AUDIENCE, LocalStack


def create(api: Api, **headers: str) -> requests.Response:
    return api.post("/invitations", json=invitation_body(), headers=headers)


def created_by(api: Api, response: requests.Response) -> str:
    assert response.status_code == 201, response.text
    history = api.get(f"/invitations/{response.json()['id']}").json()["history"]
    actor: str = history[0]["actor"]
    return actor


def refused(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    if status == 401:
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    body: dict[str, Any] = response.json()
    return body


def test_a_staff_users_token_names_the_person_in_the_audit(stack: LocalStack, api: Api) -> None:
    response = create(api, Authorization=f"Bearer {user_token(stack)}")
    assert created_by(api, response) == ADMIN


def test_a_daemon_apps_token_names_the_app_by_its_object_id(stack: LocalStack, api: Api) -> None:
    response = create(api, Authorization=f"Bearer {app_token(stack, 'rconnect-staff-tool-local', 'local-staff-tool-secret')}")
    object_id = str(uuid.UUID(hashlib.sha256(b"service-principal:rconnect-staff-tool-local").hexdigest()[:32]))
    assert created_by(api, response) == object_id


def test_the_key_alone_is_the_crm_and_a_forged_principal_header_is_ignored(api: Api) -> None:
    # App Service Authentication is off here (no WEBSITE_AUTH_ENABLED): the header is the caller's own.
    response = create(api, **{"X-MS-CLIENT-PRINCIPAL-NAME": "ceo@rconnect.example"})
    assert created_by(api, response) == "staff-api-key"


def test_a_token_does_not_replace_the_function_key(stack: LocalStack) -> None:
    response = requests.post(
        f"{stack.base_url}/api/invitations", json=invitation_body(), headers={"Authorization": f"Bearer {user_token(stack)}"}, timeout=30
    )
    assert response.status_code == 401 and response.text == ""  # the host's refusal, before the app


def test_a_valid_token_without_the_app_role_is_forbidden_even_to_read(stack: LocalStack, api: Api) -> None:
    reader = f"Bearer {user_token(stack, 'staff.reader@rconnect.example')}"
    assert "Invitations.Manage" in refused(create(api, Authorization=reader), 403)["detail"]
    refused(api.get("/invitations", headers={"Authorization": reader}), 403)
    no_role_app = f"Bearer {app_token(stack, 'rconnect-no-role-local', 'local-no-role-secret')}"
    refused(create(api, Authorization=no_role_app), 403)


def test_a_token_for_another_audience_is_refused(stack: LocalStack, api: Api) -> None:
    graph = user_token(stack, scope="https://graph.microsoft.com/.default")
    assert "Audience" in refused(create(api, Authorization=f"Bearer {graph}"), 401)["detail"]


def test_an_expired_token_is_refused(stack: LocalStack, api: Api) -> None:
    short_lived = app_token(stack, "rconnect-short-lived-local", "local-short-lived-secret")  # a 1 s lifetime policy
    oid = jwt.decode(short_lived, options={"verify_signature": False})["oid"]
    assert created_by(api, create(api, Authorization=f"Bearer {short_lived}")) == oid  # fine while it lives
    time.sleep(1 + 5 + 1)  # its lifetime, the 5 s of clock skew tolerated, and a second more
    assert "expired" in refused(create(api, Authorization=f"Bearer {short_lived}"), 401)["detail"]


def test_a_tampered_or_foreign_token_is_refused(stack: LocalStack, api: Api) -> None:
    genuine = user_token(stack, "staff.reader@rconnect.example")
    header, payload, signature = genuine.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["roles"] = ["Invitations.Manage"]  # a reader granting themself the role
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "Signature" in refused(create(api, Authorization=f"Bearer {header}.{forged_payload}.{signature}"), 401)["detail"]
    # The same claims signed with a key of one's own, under the tenant key's id.
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = jwt.get_unverified_header(genuine)["kid"]
    foreign = jwt.encode(claims, foreign_key, algorithm="RS256", headers={"kid": kid})
    refused(create(api, Authorization=f"Bearer {foreign}"), 401)
    refused(create(api, Authorization="Basic c3RhZmY6c3RhZmY="), 401)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_the_scheme_is_case_insensitive(stack: LocalStack, api: Api, scheme: str) -> None:
    assert created_by(api, create(api, Authorization=f"{scheme} {user_token(stack)}")) == ADMIN


def test_the_openapi_document_describes_the_refusals_the_api_answers(stack: LocalStack, api: Api) -> None:
    """Both ways in are documented as the app takes them (the key always, by header or `code`; a
    bearer token with the role only beside it), and every staff operation's documented 401/403 is
    what it answers: the host's empty 401 without the key, the app's problem+json for a refused
    token (401) and for a valid token without the role (403)."""
    document = api.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["functionKey"]["in"] == "header" and schemes["functionKey"]["name"] == "x-functions-key"
    assert schemes["functionKeyQuery"]["in"] == "query" and schemes["functionKeyQuery"]["name"] == "code"
    assert schemes["entraId"]["type"] == "http" and schemes["entraId"]["scheme"] == "bearer"
    assert STAFF_API_AUDIENCE in schemes["entraId"]["description"]
    assert document["security"] == [
        {"functionKey": []},
        {"functionKeyQuery": []},
        {"functionKey": [], "entraId": ["Invitations.Manage"]},
        {"functionKeyQuery": [], "entraId": ["Invitations.Manage"]},
    ]
    problem_schema = jsonschema_rs.validator_for(document["components"]["schemas"]["ProblemDetails"])
    reader = user_token(stack, "staff.reader@rconnect.example")
    key = stack.config.functions_key
    refusals = [  # (query, headers, status): the key by header, then by query
        ({}, {"x-functions-key": key, "Authorization": "Bearer not-a-token"}, 401),
        ({"code": key}, {"Authorization": "Bearer not-a-token"}, 401),
        ({}, {"x-functions-key": key, "Authorization": f"Bearer {reader}"}, 403),
        ({"code": key}, {"Authorization": f"Bearer {reader}"}, 403),
    ]
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            url = api.base + path.format(id=uuid.uuid4())
            # A valid body (the documented example), so the refusal is the caller's, not the body's.
            example = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
            responses = operation["responses"]
            assert operation.get("security") is None, (method, path)  # the document's: no anonymous staff operation

            without_key = requests.request(method, url, json=example, timeout=30)
            assert without_key.status_code == 401 and without_key.content == b"", (method, path, without_key.text)
            assert "401" in responses, (method, path)

            for query, headers, status in refusals:
                response = requests.request(method, url, params=query, headers=headers, json=example, timeout=30)
                assert response.status_code == status, (method, path, query, response.text)
                assert str(status) in responses, (method, path, status)
                media_type = response.headers["Content-Type"].split(";")[0]
                assert media_type in responses[str(status)]["content"], (method, path, status, media_type)
                problem_schema.validate(response.json())
                if status == 401:
                    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
                    assert "WWW-Authenticate" in responses["401"]["headers"]
                checked += 1
    assert checked == 9 * len(refusals)  # every staff operation, the funnel included
    # The document itself is read as the operations are.
    for query, headers, status in refusals:
        refused(requests.get(f"{api.base}/openapi.json", params=query, headers=headers, timeout=30), status)
