"""Property-based (Hypothesis) checks of the parsers: whatever arrives, a parser answers with the
parsed value or the client error it documents, never another exception (a 500 over HTTP). The fuzz
over HTTP (tests/test_api_fuzz.py, tests/test_invitee_fuzz.py) also covers the glue around them."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.models import InvitationRequest, ListQuery
from shared.presentation.company_form import FIELD_NAMES, validate
from tests.support import invitation_body
from web.batch_body import read_rows
from web.problems import Problem, parse_body, parse_query

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)
TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


def post(raw: bytes, content_type: str) -> func.HttpRequest:
    return func.HttpRequest("POST", "http://localhost/api/invitations", headers={"Content-Type": content_type}, body=raw)


def answered(call: Any) -> None:
    try:
        call()
    except Problem as problem:
        assert 400 <= problem.status < 500 and problem.detail


@PROPERTY
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_a_body_or_a_client_error(raw: bytes) -> None:
    answered(lambda: parse_body(post(raw, "application/json"), InvitationRequest))
    answered(lambda: read_rows(post(raw, "application/json")))
    answered(lambda: read_rows(post(raw, "text/csv")))


@PROPERTY
@given(pointer=st.sampled_from(["", "invitee", "inviter", "company"]), name=TEXT, value=JSON_VALUES)
def test_any_json_value_in_any_member_is_a_body_or_a_client_error(pointer: str, name: str, value: Any) -> None:
    body = invitation_body()
    (body[pointer] if pointer else body)[name] = value
    answered(lambda: parse_body(post(json.dumps(body).encode(), "application/json"), InvitationRequest))


@PROPERTY
@given(params=st.dictionaries(st.sampled_from(["status", "email", "pageSize", "continuationToken", "code"]) | TEXT, TEXT, max_size=4))
def test_any_list_query_is_a_query_or_a_client_error(params: dict[str, str]) -> None:
    request = func.HttpRequest("GET", "http://localhost/api/invitations", params={k: v for k, v in params.items() if v}, body=b"")
    answered(lambda: parse_query(request, ListQuery))


@PROPERTY
@given(values=st.dictionaries(st.sampled_from(sorted(FIELD_NAMES)) | TEXT, TEXT, max_size=10))
def test_any_company_form_is_a_form_or_the_invalid_fields(values: dict[str, str]) -> None:
    form, errors = validate(values)
    assert (form is None) == bool(errors)
    assert errors <= FIELD_NAMES
