"""Property-based tests of the staff API against its own OpenAPI document (schemathesis).

The document is fetched from the running stack (GET /api/openapi.json, with the function key),
so what is checked is what a client reads. For every operation schemathesis sends examples from
the schemas' coverage of edge values plus Hypothesis-generated requests, valid and invalid, and
checks each answer: never a 5xx, only documented status codes and content types, bodies that
match the documented schemas, and invalid input rejected. Bounded and derandomized for CI, and
with no Hypothesis example database (nothing is written into the work tree).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.checks import ignored_auth

from shared.queue_names import INVITATION_BATCH
from tests.queues import Queues
from tests.support import Api
from tests.test_invitation_batches import completed
from tools.localstack.stack import LocalStack

STAFF_OPERATIONS = {
    ("post", "/invitations"),
    ("get", "/invitations"),
    ("get", "/invitations/{id}"),
    ("post", "/invitations/{id}/revoke"),
    ("post", "/invitations/{id}/resend"),
    ("post", "/invitations/{id}/reset"),
    ("post", "/invitations/batch"),
    ("get", "/invitations/batch/{id}"),
    ("get", "/invitations/funnel"),
}
MAX_EXAMPLES = 40  # per operation, on top of the coverage phase's edge cases
STATEFUL_SCENARIOS = 25

CONFIG = {
    "seed": 20250101,
    "cache": {"enabled": False},
    "generation": {
        "mode": "all",  # valid and invalid requests
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
    },
    # The stateful test follows the document's links only. Dependency inference would add links from
    # the list's items: arbitrary stored invitations (in id order, so random), whose states other
    # scenarios and tests change, so a replayed scenario would meet other answers.
    "phases": {"stateful": {"inference": {"algorithms": []}}},
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture(scope="module")
def api_schema(stack: LocalStack) -> schemathesis.BaseSchema:
    key = {"x-functions-key": stack.config.functions_key}
    schema = schemathesis.openapi.from_url(
        f"{stack.base_url}/api/openapi.json", config=schemathesis.Config.from_dict(CONFIG), headers=key, timeout=30
    )
    schema.config.update(base_url=f"{stack.base_url}/api", headers=key)
    return schema


if not hasattr(pytest.Function, "_nodeid"):
    # schemathesis 4.32.5's from_fixture renames the running item per operation through pytest's
    # private `_nodeid`, which pytest 9.2 dropped. Keep the item's own id (each operation still
    # reports as its own subtest, labelled "METHOD /path"); a no-op once either side changes.
    pytest.Function._nodeid = property(lambda item: item.nodeid, lambda item, value: None)  # type: ignore[attr-defined]

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_staff_api_conforms_to_its_openapi_document(case: schemathesis.Case, stack: LocalStack) -> None:
    # The key passed here too marks it as the caller's real credential: `ignored_auth` then
    # re-sends successful requests without it and with a wrong one and expects 401.
    case.call_and_validate(headers={"x-functions-key": stack.config.functions_key}, checks=CHECKS, timeout=30)


def test_invitation_workflows_conform_to_the_openapi_document(
    api_schema: schemathesis.BaseSchema, stack: LocalStack, api: Api, queues: Queues
) -> None:
    """Stateful: sequences that follow the document's links (create → get/revoke/resend/reset
    with the id the API returned, and on from each answer), so transitions run on real
    invitations: 200s and 409s.

    Which link can be followed next depends on each answer's status, and Hypothesis replays the
    choices of earlier scenarios expecting the same answers (else FlakyStrategyDefinition). So no
    scenario sees what an earlier one left: its Idempotency-Keys are its own, and at its end it
    revokes every invitation it opened, so a later create for the same address is not a 409.
    Batch rows become invitations on a queue: a scenario waits for its batch before the next
    step, and the run for the batches of the tests before it."""
    key = {"x-functions-key": stack.config.functions_key}
    queues.wait_until_drained(INVITATION_BATCH)

    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.scenario = uuid.uuid4().hex
            self.opened: list[str] = []

        def teardown(self) -> None:
            for invitation_id in self.opened:
                closed = api.post(f"/invitations/{invitation_id}/revoke")
                assert closed.status_code in (200, 409), closed.text  # 409: the scenario closed it itself
            super().teardown()

        def before_call(self, case: schemathesis.Case) -> None:
            drawn = case.headers.get("Idempotency-Key")
            if isinstance(drawn, str) and drawn.strip():  # a blank key is no key: left as drawn
                case.headers["Idempotency-Key"] = f"{self.scenario}:{drawn}"

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            answered = (case.operation.label, response.status_code)
            if answered == ("POST /invitations", 201):
                self.opened.append(response.json()["id"])
            elif answered == ("POST /invitations/batch", 202):
                batch = completed(api, f"/api/invitations/batch/{response.json()['id']}")
                self.opened += [row["invitationId"] for row in batch["rows"] if row["invitationId"]]

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": key, "timeout": 30}

        def validate_response(self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=key, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_openapi_document_requires_the_key_and_covers_every_staff_operation(stack: LocalStack) -> None:
    url = f"{stack.base_url}/api/openapi.json"
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, headers={"x-functions-key": "wrong"}, timeout=30).status_code == 401

    response = requests.get(url, headers={"x-functions-key": stack.config.functions_key}, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": f"{stack.base_url}/api"}]
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert operations == STAFF_OPERATIONS
    key_scheme = document["components"]["securitySchemes"]["functionKey"]
    assert (key_scheme["type"], key_scheme["in"], key_scheme["name"]) == ("apiKey", "header", "x-functions-key")
    assert all("functionKey" in alternative or "functionKeyQuery" in alternative for alternative in document["security"])
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert {"200", "201", "202"} & set(operation["responses"]), (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)  # answered as documented: test_staff_identity.py
