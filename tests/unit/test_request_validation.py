"""The staff API's input, parsed as its functions parse it (web/problems.py's parse_body and
parse_query over shared/domain/models.py), without HTTP: every field of POST /api/invitations'
body and of GET /api/invitations' query, valid and invalid, with the problem each refusal becomes.

A refusal here is raised before the function reaches a service, so nothing is stored, claimed or
e-mailed; tests/test_bad_input.py proves over HTTP, for a handful of these cases, that the glue
answers them as problem+json with nothing stored.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import azure.functions as func
import pytest

from shared.adapters.tables.invitations import decode_token
from shared.domain import invitations as rules
from shared.domain.errors import InvalidInput
from shared.domain.ids import parse_invitation_id
from shared.domain.models import InvitationRequest, InvitationStatus, ListQuery
from shared.services.admin_consent import valid_tenant
from tests.support import invitation_body
from web.problems import MAX_BODY_BYTES, Problem, parse_body, parse_query, status_of

JSON = "application/json"


class Missing:
    """A set_pointer value: leave the member out."""

    def __repr__(self) -> str:
        return "(missing)"


MISSING = Missing()

# Characters no text field may hold: C0 controls (line breaks included), DEL, C1 controls, and the
# bidi embeddings/overrides/isolates that make a name display as something else ("Trojan Source").
FORBIDDEN = {
    "NUL": "\x00",
    "BEL": "\x07",
    "ESC": "\x1b",
    "CR": "\r",
    "LF": "\n",
    "TAB": "\t",
    "DEL": "\x7f",
    "NEL (C1)": "\x85",
    "CSI (C1)": "\x9b",
    "RLO": "\u202e",
    "LRE": "\u202a",
    "RLI": "\u2067",
    "PDI": "\u2069",
}
API_TEXT_FIELDS = (
    "/invitee/displayName",
    "/inviter/name",
    "/inviter/organisation",
    "/company/name",
    "/company/street",
    "/company/city",
)


def post(raw: bytes, content_type: str | None = JSON) -> func.HttpRequest:
    headers = {"Content-Type": content_type} if content_type else {}
    return func.HttpRequest("POST", "http://localhost/api/invitations", headers=headers, body=raw)


def parsed(body: dict[str, Any]) -> InvitationRequest:
    return parse_body(post(json.dumps(body).encode()), InvitationRequest)


def refused(raw: bytes, content_type: str | None = JSON) -> Problem:
    with pytest.raises(Problem) as refusal:
        parse_body(post(raw, content_type), InvitationRequest)
    return refusal.value


def field_errors(body: dict[str, Any]) -> list[str]:
    """The pointers of a 422 validation-error refusing `body` (each named in its detail, too)."""
    problem = refused(json.dumps(body).encode())
    assert (problem.status, problem.code) == (422, "validation-error"), problem.detail
    assert problem.errors
    pointers = [error["pointer"] for error in problem.errors]
    assert all(error["detail"] for error in problem.errors)
    assert pointers[0] in problem.detail
    return pointers


def set_pointer(body: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    *path, last = pointer.strip("/").split("/")
    target = body
    for part in path:
        target = target[part]
    if value is MISSING:
        target.pop(last, None)
    else:
        target[last] = value
    return body


def with_value(pointer: str, value: Any) -> dict[str, Any]:
    return set_pointer(invitation_body(), pointer, value)


def cases(table: dict[str, list[Any]]) -> list[Any]:
    return [pytest.param(pointer, value, id=f"{pointer}={value!r:.40}") for pointer, values in table.items() for value in values]


# -- media type ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,  # no Content-Type at all
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data; boundary=xyz",
        "application/jsonp",
        "application/json-seq",
    ],
)
def test_a_json_body_with_another_media_type_is_415(content_type: str | None) -> None:
    problem = refused(json.dumps(invitation_body()).encode(), content_type)
    assert (problem.status, problem.code) == (415, "unsupported-media-type")
    assert "application/json" in problem.detail


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_application_json_with_or_without_charset_is_read(content_type: str) -> None:
    body = invitation_body()
    request = parse_body(post(json.dumps(body).encode(), content_type), InvitationRequest)
    assert request.invitee.email == body["invitee"]["email"]


# -- JSON as I-JSON has it -------------------------------------------------------------------------


def _valid_text(**overrides: Any) -> str:
    return json.dumps(invitation_body(**overrides))


def _with_ttl(raw: str) -> bytes:
    return _valid_text(ttlDays=7).replace('"ttlDays": 7', f'"ttlDays": {raw}').encode()


MALFORMED_JSON: dict[str, bytes] = {
    "5,000-digit integer": _with_ttl("9" * 5000),
    "5,000-digit negative integer": _with_ttl("-" + "9" * 5000),
    "5,000-digit integer in an unknown field": _valid_text(colour=0).replace('"colour": 0', '"colour": ' + "1" * 5000).encode(),
    "huge exponent": _with_ttl("1e999999"),
    "NaN": _with_ttl("NaN"),
    "Infinity": _with_ttl("Infinity"),
    "-Infinity": _with_ttl("-Infinity"),
    "duplicate member": _valid_text().replace('"role": "admin"', '"role": "user", "role": "admin"').encode(),
    "lone surrogate": _valid_text().replace('"Anna Keller"', '"Anna \\ud800 Keller"').encode(),
    "UTF-16 body": _valid_text().encode("utf-16"),
    "UTF-8 BOM": b"\xef\xbb\xbf" + _valid_text().encode(),
    "trailing data": _valid_text().encode() + b" {}",
    "JSON null": b"null",
    "a number": b"1" * 5000,
    "malformed JSON": b'{"invitee": {"email": "x@contoso.example",',
    "a JSON array": json.dumps([invitation_body()]).encode(),
    "a JSON string": b'"invite me"',
    "an empty body": b"",
    "not UTF-8": b'{"message": "\xff\xfe\xfa"}',
    "deeply nested": b"[" * 50_000 + b"]" * 10,
}


@pytest.mark.parametrize("case", list(MALFORMED_JSON))
def test_a_body_that_is_not_one_i_json_object_is_400_malformed_json(case: str) -> None:
    problem = refused(MALFORMED_JSON[case])
    assert (problem.status, problem.code) == (400, "malformed-json"), problem.detail


def test_a_fraction_where_an_integer_belongs_is_a_field_error() -> None:
    assert field_errors(json.loads(_with_ttl("7.5"))) == ["/ttlDays"]


def test_a_body_over_64_kib_is_413() -> None:
    problem = refused(json.dumps(invitation_body(message="x" * MAX_BODY_BYTES)).encode())
    assert (problem.status, problem.code) == (413, "body-too-large")


def test_a_body_of_exactly_64_kib_is_read() -> None:
    raw = json.dumps(invitation_body()).encode()
    raw = raw[:-1] + b" " * (MAX_BODY_BYTES - len(raw)) + b"}"
    assert len(raw) == MAX_BODY_BYTES
    assert parse_body(post(raw), InvitationRequest).role == "admin"


# -- every field of the body -----------------------------------------------------------------------


EMAILS_VALID = [
    "anna@contoso.example",
    "Anna.Keller+tag@contoso.example",
    "zoë@bücher.example",
    "用户@例子.广告",
    "anna@xn--bcher-kva.example",
]
EMAILS_INVALID = [
    "",
    "anna",
    "anna@",
    "@contoso.example",
    "anna@@contoso.example",
    "anna keller@contoso.example",
    "anna at contoso.example",
    "anna@contoso..example",
    "anna@contoso.example.",
    "anna@localhost",
    "tamer@",
    42,
]
TEXT_VALID = ["A", "x" * 200, "Zoë Ünal-Öztürk 山田", 'Keller, Anna "AK" <mallory@evil.example>']
TEXT_INVALID = ["", "   ", "x" * 201, 42, None]
URLS_VALID = ["https://contoso.example", "http://contoso.example/path?q=1", "https://contoso.example/" + "x" * 270]
URLS_INVALID = [
    "contoso.example",
    "portal",
    "ftp://contoso.example",
    "javascript:alert(1)",
    "https://",
    "https://contoso.example/" + "x" * 300,
]

VALID: dict[str, list[Any]] = {
    "/invitee/email": EMAILS_VALID,
    "/inviter/email": [*EMAILS_VALID, None, MISSING],
    **{pointer: TEXT_VALID for pointer in API_TEXT_FIELDS},
    "/company/postalCode": ["8500", "SW1A 1AA", "75-001", "ab", "123456789012"],
    "/company/vatNumber": ["CHE-123.456.789", "DE123456789", "de 1234", "x" * 20],
    "/company/phone": ["+41 52 123 45 67", "(052) 123-45.67", "+1/555/123456", "123456", "1" * 25],
    "/company/country": ["CH", "ch", "DE", "US"],
    "/company/website": [*URLS_VALID, None, MISSING],
    "/redirectUrl": [*URLS_VALID, None, MISSING],
    "/ttlDays": [1, 7, 30, MISSING],
    "/role": ["admin", "user", MISSING],
    "/language": ["en", "fr", "de", "it", "es", MISSING],
    "/message": ["Hello Anna,\nwelcome aboard.\r\nTamer", "x" * 2000, "", None, MISSING],
    "/allowDuplicate": [True, False, MISSING],
}
INVALID: dict[str, list[Any]] = {
    "/invitee/email": [*EMAILS_INVALID, None, MISSING],
    "/inviter/email": EMAILS_INVALID,
    **{pointer: [*TEXT_INVALID, MISSING] for pointer in API_TEXT_FIELDS},
    "/company/postalCode": ["1", "-8500", " ", "8500_1", "1234567890123", "", MISSING],
    "/company/vatNumber": ["CH1", ".CHE123", "CHE_123", "x" * 21, "", MISSING],
    "/company/phone": ["call me", "12345", "12 3-45", "1" * 26, "++41521234567", "", MISSING],
    "/company/country": ["XX", "CHE", "C", "", "1A", MISSING],
    "/company/website": URLS_INVALID,
    "/redirectUrl": URLS_INVALID,
    "/ttlDays": [0, 31, -1, 7.5, "seven", None],
    "/role": ["owner", "Admin", "", None],
    "/language": ["xx", "EN", "en-GB", "", None],
    "/message": ["x" * 2001],
    "/allowDuplicate": ["maybe", 2],
    "/invitee": [MISSING, "anna@contoso.example"],
    "/inviter": [MISSING, None],
    "/company": [MISSING, []],
}


@pytest.mark.parametrize(("pointer", "value"), cases(VALID))
def test_a_valid_value_is_accepted(pointer: str, value: Any) -> None:
    parsed(with_value(pointer, value))


@pytest.mark.parametrize(("pointer", "value"), cases(INVALID))
def test_an_invalid_value_is_a_422_naming_that_field_alone(pointer: str, value: Any) -> None:
    assert field_errors(with_value(pointer, value)) == [pointer]


@pytest.mark.parametrize("pointer", ["/colour", "/invitee/title", "/inviter/title", "/company/colour"])
def test_an_unknown_member_is_a_422_naming_it(pointer: str) -> None:
    assert field_errors(with_value(pointer, "orange")) == [pointer]


@pytest.mark.parametrize("pointer", API_TEXT_FIELDS)
@pytest.mark.parametrize("name", list(FORBIDDEN))
def test_control_and_bidi_characters_in_a_text_field_are_a_field_error(pointer: str, name: str) -> None:
    assert field_errors(with_value(pointer, f"Anna{FORBIDDEN[name]}Keller")) == [pointer]


@pytest.mark.parametrize("name", ["NUL", "ESC", "DEL", "NEL (C1)", "CSI (C1)", "RLO", "RLI", "TAB"])
def test_control_and_bidi_characters_in_the_message_are_a_field_error(name: str) -> None:
    assert field_errors(invitation_body(message=f"Welcome{FORBIDDEN[name]}aboard")) == ["/message"]


@pytest.mark.parametrize("pointer", ["/invitee/email", "/inviter/email"])
@pytest.mark.parametrize("name", ["NUL", "LF", "RLO", "DEL"])
def test_control_and_bidi_characters_in_an_email_address_are_a_field_error(pointer: str, name: str) -> None:
    assert field_errors(with_value(pointer, f"anna{FORBIDDEN[name]}x@contoso.example")) == [pointer]


@pytest.mark.parametrize("pointer", ["/company/website", "/redirectUrl"])
@pytest.mark.parametrize("name", ["NUL", "LF", "TAB", "RLO"])
def test_control_and_bidi_characters_in_a_url_are_refused_not_percent_encoded(pointer: str, name: str) -> None:
    assert field_errors(with_value(pointer, f"https://contoso.example/a{FORBIDDEN[name]}b")) == [pointer]


def test_values_are_normalised_as_stored() -> None:
    request = parsed(
        invitation_body(
            invitee={"email": "anna@xn--bcher-kva.example", "displayName": "\t Anna Keller\n"},  # whitespace around: stripped
            company={**invitation_body()["company"], "country": "ch", "vatNumber": "che-123.456.789"},
            message="Hello Anna,\nwelcome aboard.\r\nTamer",
        )
    )
    assert request.invitee.email == "anna@bücher.example"  # the IDN address in Unicode, as it is displayed
    assert request.invitee.display_name == "Anna Keller"
    assert (request.company.country, request.company.vat_number) == ("CH", "CHE-123.456.789")
    assert request.message is not None and request.message.splitlines() == ["Hello Anna,", "welcome aboard.", "Tamer"]


def test_the_defaults_of_the_optional_fields() -> None:
    request = parsed(invitation_body())
    assert (request.role, request.language, request.ttl_days, request.allow_duplicate) == ("admin", "en", 7, False)
    assert request.message is None and request.redirect_url is None and request.inviter.email is None


def test_every_invalid_field_is_listed_at_once() -> None:
    body = with_value("/invitee/email", "anna")
    set_pointer(body, "/company/country", "XX")
    set_pointer(body, "/ttlDays", 0)
    assert sorted(field_errors(body)) == ["/company/country", "/invitee/email", "/ttlDays"]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/welcome",
        "https://portal.rconnect.example.evil.example/welcome",  # the allowed origin as a prefix of another host
        "https://portal.rconnect.example@evil.example/",  # userinfo trick
        "http://portal.rconnect.example/welcome",  # another scheme is another origin
    ],
)
def test_a_redirect_url_outside_the_allow_list_is_400_redirect_not_allowed(target: str) -> None:
    request = parsed(invitation_body(redirectUrl=target))
    with pytest.raises(InvalidInput) as refusal:
        rules.check_redirect_allowed(request.redirect_url, ["https://portal.rconnect.example"])
    assert refusal.value.code == "redirect-not-allowed" and "redirectUrl" in refusal.value.detail
    assert status_of(refusal.value)[0] == 400


# -- GET /api/invitations' query -------------------------------------------------------------------


def listing(params: dict[str, str]) -> func.HttpRequest:
    url = "http://localhost/api/invitations" + (f"?{urlencode(params)}" if params else "")
    # As the Functions host hands it over: an empty value is left out of params, kept in the URL.
    return func.HttpRequest("GET", url, params={name: value for name, value in params.items() if value}, body=b"")


@pytest.mark.parametrize(
    "params",
    [
        {},
        *({"status": status.value} for status in InvitationStatus),
        {"pageSize": "1"},
        {"pageSize": "200"},
        {"email": "Anna@Contoso.example"},
        {"email": "zoë@bücher.example"},
        {"continuationToken": "eyJQYXJ0aXRpb25LZXkiOiAiYSJ9"},
        {"code": "the-function-key"},  # the function key as a query parameter is not the query's
    ],
    ids=repr,
)
def test_a_valid_list_query_is_read(params: dict[str, str]) -> None:
    query = parse_query(listing(params), ListQuery)
    assert query.page_size == int(params.get("pageSize", 50))


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"status": "archived"}, "/status"),
        ({"status": "PENDING!"}, "/status"),
        ({"status": ""}, "/status"),
        ({"pageSize": "0"}, "/pageSize"),
        ({"pageSize": "201"}, "/pageSize"),
        ({"pageSize": "ten"}, "/pageSize"),
        ({"pageSize": "9" * 5000}, "/pageSize"),
        ({"pageSize": "1e999"}, "/pageSize"),
        ({"email": "not-an-address"}, "/email"),
        ({"email": "a\x00b@contoso.example"}, "/email"),
        ({"email": ""}, "/email"),  # an empty filter is refused, not read as no filter
        ({"sort": "createdAt"}, "/sort"),
    ],
    ids=repr,
)
def test_an_invalid_list_query_is_a_422_naming_the_parameter(params: dict[str, str], pointer: str) -> None:
    with pytest.raises(Problem) as refusal:
        parse_query(listing(params), ListQuery)
    assert (refusal.value.status, refusal.value.code) == (422, "validation-error")
    assert [error["pointer"] for error in refusal.value.errors or []] == [pointer]


@pytest.mark.parametrize("token", ["!!!garbage!!!", "abc", "bnVsbA==", "WzEsMl0=", "eyJQYXJ0aXRpb25LZXkiOiAxfQ=="])
def test_a_continuation_token_this_api_did_not_return_is_400(token: str) -> None:
    # "bnVsbA==" is null, "WzEsMl0=" is [1,2] and the last {"PartitionKey": 1}: JSON, but not a token of ours.
    with pytest.raises(InvalidInput) as refusal:
        decode_token(token)
    assert "continuationToken" in refusal.value.detail and status_of(refusal.value)[0] == 400


# -- identifiers in paths and query strings --------------------------------------------------------

UUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


@pytest.mark.parametrize("raw", ["not-a-uuid", "12345", UUID[:-2], UUID + "\n", UUID + "\x00", UUID + " ", UUID + "\u202e", " " + UUID, ""])
def test_a_malformed_invitation_id_is_400_invalid_id(raw: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_invitation_id(raw)
    assert refusal.value.code == "invalid-id" and status_of(refusal.value)[0] == 400


@pytest.mark.parametrize("raw", [UUID, UUID.upper(), UUID.replace("-", "")])
def test_an_invitation_id_is_read_in_its_canonical_form(raw: str) -> None:
    assert parse_invitation_id(raw) == UUID


@pytest.mark.parametrize("tenant", ["organizations", "common", "contoso.example", "sub.contoso.co.uk", UUID, UUID.upper()])
def test_a_tenant_is_a_guid_a_domain_or_organizations(tenant: str) -> None:
    assert valid_tenant(tenant)


@pytest.mark.parametrize(
    "tenant",
    ["contoso.example\n", "contoso.example%", "organizations\r\n", "a\u202ecom.example", UUID + "\n", UUID + "\x00", " " + UUID, "x", ""],
)
def test_any_other_tenant_is_refused(tenant: str) -> None:
    assert not valid_tenant(tenant)
