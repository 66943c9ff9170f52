"""The staff API's documented create example (docs/reference/staff-api.md), as written, against a
fresh stack configured as `make run` configures it (`tools.localstack.run_local.RUN_APP_SETTINGS`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from tools.localstack.run_local import DEMO_INVITATION, RUN_APP_SETTINGS, create_demo_invitation
from tools.localstack.stack import ROOT, LocalStack, StackConfig

STAFF_API_DOC = ROOT / "docs" / "reference" / "staff-api.md"
# The documented create call: `curl -s -X POST $API/invitations -H "…" … -d '{…}'`.
_CREATE = re.compile(r"curl -s -X POST \$API/invitations (?P<options>.*?) -d '(?P<body>\{.*?\})'", re.S)
_HEADER = re.compile(r'-H "(?P<name>[^:]+): (?P<value>[^"]*)"')


def documented_create_example() -> tuple[dict[str, str], str]:
    """(headers, body) of the documented create example, exactly as written there."""
    match = _CREATE.search(STAFF_API_DOC.read_text(encoding="utf-8"))
    assert match, f"{STAFF_API_DOC.name} no longer shows a create example"
    headers = {name: value for name, value in _HEADER.findall(match.group("options"))}
    return headers, match.group("body")


@pytest.fixture(scope="module")
def run_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A fresh stack with `make run`'s settings: the session stack's other tests (the OpenAPI fuzz
    starts from the same documented example, batches included) may hold the example's address."""
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("run-stack"), app_env=dict(RUN_APP_SETTINGS))
    with LocalStack(config) as running:
        yield running


def test_the_documented_create_example_works_under_make_run(run_stack: LocalStack) -> None:
    stack = run_stack
    headers, body = documented_create_example()
    assert headers.pop("x-functions-key") == "$KEY"
    headers["x-functions-key"] = stack.config.functions_key
    url = f"{stack.base_url}/api/invitations"
    demo = create_demo_invitation(stack)  # what `make run` does first: another invitee, no conflict
    assert demo["invitee"]["email"] == DEMO_INVITATION["invitee"]["email"]
    assert create_demo_invitation(stack)["id"] == demo["id"]  # `make run` again: still the open one

    created = requests.post(url, data=body.encode(), headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    invitation = created.json()
    assert invitation["redirectUrl"] == json.loads(body)["redirectUrl"]
    # Run again as written: the Idempotency-Key replays the first answer.
    again = requests.post(url, data=body.encode(), headers=headers, timeout=30)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == invitation["id"]
