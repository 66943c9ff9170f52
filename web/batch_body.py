"""The body of POST /api/invitations/batch: a JSON array of invitation requests, or CSV with the
same fields flattened in its header row (`invitee.email,invitee.displayName,...`).

CSV is read as RFC 4180 has it (UTF-8, a byte order mark tolerated, quoted fields may hold commas,
quotes and line breaks); an empty cell is an absent field, so defaults apply as in JSON. Row i is
the i-th element of the array or the i-th line after the header: errors point at `/rows/{i}/...`.
"""

import csv
import hashlib
import io
from functools import lru_cache
from typing import Any

import azure.functions as func
from pydantic import BaseModel

from shared.domain.batches import MAX_ROWS, Handling
from shared.domain.models import InvitationRequest
from web.problems import Problem, invalid, media_type, read_json

MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024  # 1,000 rows with long messages and non-ASCII text
JSON, CSV = "application/json", "text/csv"


@lru_cache
def csv_columns() -> tuple[str, ...]:
    """The CSV header's names: InvitationRequest's wire names, nested models' fields as `parent.field`."""

    def names(model: type[BaseModel], prefix: str) -> list[str]:
        found = []
        for name, field in model.model_fields.items():
            alias = prefix + (field.alias or name)
            nested = field.annotation
            found += names(nested, alias + ".") if isinstance(nested, type) and issubclass(nested, BaseModel) else [alias]
        return found

    return tuple(names(InvitationRequest, ""))


def _nested(header: list[str], values: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in zip(header, values, strict=True):
        if value == "":
            continue
        *parents, leaf = name.split(".")
        target = row
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return row


def _malformed(detail: str) -> Problem:
    return Problem(400, "Malformed CSV", detail, code="malformed-csv")


def read_csv(body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _malformed(f"The body is not UTF-8: {error}.") from None
    lines = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        records = [record for record in lines if record]  # blank lines carry no row
    except csv.Error as error:
        raise _malformed(f"Line {lines.line_num}: {error}.") from None
    if not records:
        return []
    header, *data = [[cell.strip() for cell in record] for record in records[:1]] + records[1:]
    errors = [
        {"pointer": f"/header/{column}", "detail": f"'{name}' is not a field ({', '.join(csv_columns())})"}
        for column, name in enumerate(header)
        if name not in csv_columns()
    ] + [
        {"pointer": f"/header/{column}", "detail": f"'{name}' appears twice"}
        for column, name in enumerate(header)
        if header.index(name) != column
    ]
    if errors:
        raise invalid(errors, "CSV header")
    for index, record in enumerate(data):
        if len(record) != len(header):
            raise _malformed(f"Row {index} has {len(record)} fields; the header has {len(header)}.")
    return [_nested(header, record) for record in data]


def read_rows(req: func.HttpRequest) -> tuple[list[Any], str]:
    """The rows, and a hash of what was sent (an Idempotency-Key's replay must send the same)."""
    kind = media_type(req)
    if kind not in (JSON, CSV):
        raise Problem(
            415,
            "Unsupported media type",
            "A batch is sent as Content-Type: application/json (an array) or text/csv.",
            code="unsupported-media-type",
        )
    body = req.get_body()
    if len(body) > MAX_BATCH_BODY_BYTES:
        raise Problem(413, "Body too large", f"A batch must be at most {MAX_BATCH_BODY_BYTES} bytes.", code="body-too-large")
    if kind == CSV:
        rows = read_csv(body)
    else:
        try:
            rows = read_json(body or b"null")
        except (ValueError, RecursionError) as error:
            raise Problem(400, "Malformed JSON", f"The body is not valid JSON: {error}.", code="malformed-json") from None
        if not isinstance(rows, list):
            raise Problem(400, "Malformed JSON", "A JSON batch is an array of invitations.", code="malformed-json")
    if not 1 <= len(rows) <= MAX_ROWS:
        raise invalid([{"pointer": "/rows", "detail": f"a batch has 1 to {MAX_ROWS} rows, not {len(rows)}"}], "batch")
    return rows, hashlib.sha256(kind.encode() + b"\n" + body).hexdigest()


def handling(req: func.HttpRequest) -> Handling:
    """RFC 7240's `Prefer: handling=lenient` accepts the valid rows and reports the others;
    strict (the default) refuses the batch when any row is invalid."""
    preferences = {part.split(";", 1)[0].strip().lower().replace(" ", "") for part in req.headers.get("prefer", "").split(",")}
    return "lenient" if "handling=lenient" in preferences else "strict"
