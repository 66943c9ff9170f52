"""POST /api/invitations/batch's body (web/batch_body.py), without HTTP: a JSON array or RFC 4180
CSV, the media types, the limits, and the problem each refusal becomes."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from shared.domain.batches import MAX_ROWS
from tests.support import invitation_body
from web.batch_body import MAX_BATCH_BODY_BYTES, csv_columns, handling, read_rows
from web.problems import Problem


def batch(raw: bytes, content_type: str = "application/json", **headers: str) -> func.HttpRequest:
    return func.HttpRequest("POST", "http://localhost/api/invitations/batch", headers={"Content-Type": content_type, **headers}, body=raw)


def refused(raw: bytes, content_type: str = "application/json") -> Problem:
    with pytest.raises(Problem) as refusal:
        read_rows(batch(raw, content_type))
    return refusal.value


def test_a_json_array_is_its_rows() -> None:
    bodies = [invitation_body(), invitation_body()]
    rows, _ = read_rows(batch(json.dumps(bodies).encode()))
    assert rows == bodies


def test_csv_rows_are_nested_as_json_and_empty_cells_are_absent() -> None:
    raw = (
        "\ufeffinvitee.email, invitee.displayName ,company.country,message,ttlDays\r\n"
        'anna@contoso.example,"Keller, Anna",CH,"Line one,\r\nline two",\r\n'
        "\r\n"  # a blank line carries no row
        "max@contoso.example,Max,DE,,14\r\n"
    ).encode()
    rows, _ = read_rows(batch(raw, "text/csv; charset=utf-8"))
    assert rows == [
        {
            "invitee": {"email": "anna@contoso.example", "displayName": "Keller, Anna"},
            "company": {"country": "CH"},
            "message": "Line one,\r\nline two",
        },
        {"invitee": {"email": "max@contoso.example", "displayName": "Max"}, "company": {"country": "DE"}, "ttlDays": "14"},
    ]


def test_the_csv_columns_are_the_requests_wire_names() -> None:
    columns = csv_columns()
    assert {
        "invitee.email",
        "invitee.displayName",
        "inviter.email",
        "company.vatNumber",
        "ttlDays",
        "redirectUrl",
        "allowDuplicate",
    } <= set(columns)
    assert "invitee" not in columns and "company" not in columns


def test_the_hash_tells_bodies_and_media_types_apart() -> None:
    raw = json.dumps([invitation_body()]).encode()
    assert read_rows(batch(raw))[1] == read_rows(batch(raw))[1]
    assert read_rows(batch(raw))[1] != read_rows(batch(raw + b" "))[1]


@pytest.mark.parametrize("content_type", ["application/xml", "text/plain", "application/x-www-form-urlencoded", ""])
def test_another_media_type_is_415(content_type: str) -> None:
    problem = refused(b"<invitations/>", content_type)
    assert (problem.status, problem.code) == (415, "unsupported-media-type")


def test_a_body_over_4_mib_is_413() -> None:
    problem = refused(b" " * (MAX_BATCH_BODY_BYTES + 1))
    assert (problem.status, problem.code) == (413, "body-too-large")


@pytest.mark.parametrize("raw", [b'{"rows": []}', b"null", b"", b"[1,", b'"rows"', b"[" * 50_000], ids=repr)
def test_json_that_is_not_an_array_is_400(raw: bytes) -> None:
    problem = refused(raw)
    assert (problem.status, problem.code) == (400, "malformed-json")


@pytest.mark.parametrize("count", [0, MAX_ROWS + 1])
def test_a_batch_has_1_to_1000_rows(count: int) -> None:
    problem = refused(json.dumps([{}] * count).encode())
    assert (problem.status, problem.code) == (422, "validation-error")
    assert [error["pointer"] for error in problem.errors or []] == ["/rows"]


def test_a_batch_of_1000_rows_is_read() -> None:
    assert len(read_rows(batch(json.dumps([{}] * MAX_ROWS).encode()))[0]) == MAX_ROWS


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b'invitee.email,invitee.displayName\r\nanna@contoso.example,"Anna\r\n', "Line"),  # an unclosed quote
        (b"invitee.email,invitee.displayName\r\nanna@contoso.example,Anna,extra\r\n", "Row 0 has 3 fields"),
        (b"invitee.email,invitee.displayName\r\nanna@contoso.example\r\n", "Row 0 has 1 fields"),
    ],
    ids=["not UTF-8", "unclosed quote", "a cell too many", "a cell too few"],
)
def test_malformed_csv_is_400(raw: bytes, detail: str) -> None:
    problem = refused(raw, "text/csv")
    assert (problem.status, problem.code) == (400, "malformed-csv") and detail in problem.detail


@pytest.mark.parametrize(
    ("header", "pointers"),
    [
        ("invitee.email,invitee.shoeSize", ["/header/1"]),
        ("invitee,invitee.email", ["/header/0"]),
        ("invitee.email,invitee.email", ["/header/1"]),
        ("email,Invitee.Email,ttlDays", ["/header/0", "/header/1"]),
    ],
)
def test_a_csv_header_naming_no_field_or_one_twice_is_422(header: str, pointers: list[str]) -> None:
    problem = refused(f"{header}\r\na,b,c\r\n".encode(), "text/csv")
    assert (problem.status, problem.code) == (422, "validation-error")
    assert [error["pointer"] for error in problem.errors or []] == pointers


def test_an_empty_csv_has_no_rows() -> None:
    assert refused(b"", "text/csv").errors == [{"pointer": "/rows", "detail": "a batch has 1 to 1000 rows, not 0"}]


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        (None, "strict"),
        ("handling=lenient", "lenient"),
        ("respond-async, handling=lenient", "lenient"),
        ("Handling = Lenient; x=1", "lenient"),
        ("handling=strict", "strict"),
        ("handling=lenientish", "strict"),
    ],
)
def test_prefer_handling_lenient_is_read_as_rfc_7240_has_it(prefer: str | None, expected: str) -> None:
    headers = {"Prefer": prefer} if prefer else {}
    assert handling(batch(b"[]", **headers)) == expected
