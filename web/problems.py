"""JSON API helpers: RFC 9457 problem details, JSON answers (a create's with its replay header),
pydantic-validated bodies and queries."""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.domain.errors import (
    Conflict,
    DomainError,
    Gone,
    IdempotencyMismatch,
    InvalidInput,
    NotFound,
    SignInFailed,
    Unavailable,
)
from shared.domain.ids import parse_invitation_id
from shared.domain.models import field_errors
from shared.log_context import invitation_context

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
MAX_INTEGER_DIGITS = 20
PROBLEM_TYPE_BASE = "https://rconnect.example/problems/"
Model = TypeVar("Model", bound="BaseModel")


# The HTTP answer to each kind of domain error, most specific first.
_STATUSES: tuple[tuple[type[DomainError], int, str], ...] = (
    (InvalidInput, 400, "Invalid input"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (Gone, 410, "Gone"),
    (IdempotencyMismatch, 422, "Idempotency-Key reused"),
    (SignInFailed, 400, "Sign-in failed"),
    (Unavailable, 503, "Service unavailable"),
)


def status_of(error: DomainError) -> tuple[int, str]:
    """(HTTP status, title) for a domain error."""
    return next(((status, title) for kind, status, title in _STATUSES if isinstance(error, kind)), (400, "Bad request"))


def retry_after(error: DomainError) -> dict[str, str]:
    """The Retry-After header for an error worth retrying later (a dependency down)."""
    return {"Retry-After": str(error.retry_after_seconds)} if isinstance(error, Unavailable) else {}


class Problem(Exception):
    """An error already phrased for the client."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        code: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        members: dict[str, Any] | None = None,
    ):
        super().__init__(detail)
        self.status, self.title, self.detail, self.code, self.errors = status, title, detail, code, errors
        self.headers = headers  # e.g. WWW-Authenticate on a 401
        self.members = members or {}  # RFC 9457 extension members, e.g. the existing invitation's id


def problem_response(problem: Problem, instance: str, headers: dict[str, str] | None = None) -> func.HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
    }
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.members)
    return func.HttpResponse(
        json.dumps(body), status_code=problem.status, mimetype="application/problem+json", charset="utf-8", headers=headers
    )


def json_response(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        model.model_dump_json(by_alias=True),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def created_response(
    model: BaseModel, status: int, location: str, *, replayed: bool, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """The answer to a create (201 invitation, 202 batch): `Location`, any `headers`, and
    `Idempotent-Replayed: true` when an Idempotency-Key replayed an earlier request."""
    answer_headers = {"Location": location, **(headers or {})}
    if replayed:
        answer_headers["Idempotent-Replayed"] = "true"
    return json_response(model, status=status, headers=answer_headers)


def invalid(errors: list[dict[str, Any]], what: str) -> Problem:
    """422 listing every field error (a JSON Pointer each); the first five in `detail`."""
    summary = "; ".join(f"{item['pointer']}: {item['detail']}" for item in errors[:5])
    return Problem(422, f"Invalid {what}", summary, code="validation-error", errors=errors)


def _invalid(error: ValidationError, what: str) -> Problem:
    return invalid([item.model_dump() for item in field_errors(error)], what)


def media_type(req: func.HttpRequest) -> str:
    return req.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _json_media_type(req: func.HttpRequest) -> bool:
    return media_type(req) == "application/json"


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"a member name appears twice in one object: {sorted({n for n in names if names.count(n) > 1})}")
    return dict(pairs)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]}… is out of range")
    return value


def _bounded_int(text: str) -> int:
    # Python refuses to convert integers over 4,300 digits with a bare ValueError; no field here
    # needs more than a handful, so say so before trying.
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"integers have at most {MAX_INTEGER_DIGITS} digits")
    return int(text)


def read_json(body: bytes) -> Any:
    """RFC 8259 JSON as I-JSON (RFC 7493) has it: UTF-8 without a byte order mark, unique member
    names, finite numbers, no lone surrogates; anything else is ValueError."""
    text = body.decode("utf-8")  # strict: UTF-16/32 and invalid bytes are refused, not guessed
    if text.startswith("\ufeff"):
        raise ValueError("a byte order mark is not allowed")
    data = json.loads(
        text,
        object_pairs_hook=_refuse_duplicates,
        parse_constant=_refuse_constant,
        parse_float=_finite_float,
        parse_int=_bounded_int,
    )
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # a lone surrogate (\ud800) cannot be stored
    return data


def parse_body(req: func.HttpRequest, model: type[Model]) -> Model:
    if not _json_media_type(req):
        raise Problem(
            415, "Unsupported media type", "The body must be JSON sent as Content-Type: application/json.", code="unsupported-media-type"
        )
    body = req.get_body()
    if len(body) > MAX_BODY_BYTES:
        raise Problem(413, "Body too large", f"The body must be at most {MAX_BODY_BYTES} bytes.", code="body-too-large")
    try:
        data = read_json(body or b"null")
    except ValueError as error:  # JSONDecodeError and UnicodeError included
        raise Problem(400, "Malformed JSON", f"The body is not valid JSON: {error}.", code="malformed-json") from None
    except RecursionError:
        # A small body can still nest deeper than the decoder recurses: a client error, not a 500.
        raise Problem(400, "Malformed JSON", "The body nests too deeply.", code="malformed-json") from None
    if not isinstance(data, dict):
        raise Problem(400, "Malformed JSON", "The body must be a JSON object.", code="malformed-json")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _invalid(error, "request body") from None


def parse_query(req: func.HttpRequest, model: type[Model]) -> Model:
    params = dict(req.params)
    # The Functions host leaves empty values out of req.params; the raw query in req.url keeps them,
    # so `?email=` is refused as an invalid value rather than read as "no filter".
    for name, value in parse_qsl(urlsplit(req.url).query, keep_blank_values=True):
        if not value:
            params.setdefault(name, "")
    params.pop("code", None)  # the function key, when a client cannot send x-functions-key
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise _invalid(error, "query") from None


def api_errors(handler: Callable[[func.HttpRequest], func.HttpResponse]) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Domain errors and Problems become problem+json; anything else a 500 without internals."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        return in_invitation_context(req, functools.partial(_answer, handler))

    return wrapper


def in_invitation_context(req: func.HttpRequest, answer: Callable[[func.HttpRequest], func.HttpResponse]) -> func.HttpResponse:
    """Answer with the request's invitation in the log context (shared/telemetry.py), and log one line
    for it: the host's own request log does not know which invitation an invocation was about. The
    path only: a query may hold an authorization code or the function key."""
    invitation_id = request_invitation_id(req)
    with invitation_context(invitation_id):
        response = answer(req)
        if invitation_id:
            log.info("%s %s answered %s", req.method, urlsplit(req.url).path, response.status_code)
        return response


def request_invitation_id(req: func.HttpRequest) -> str | None:
    """The invitation a request is about, from its route (staff API) or its link's invitationId,
    when well-formed: the log context (shared/telemetry.py) takes no caller-chosen text."""
    raw = req.route_params.get("id") or req.params.get("invitationId")
    try:
        return parse_invitation_id(raw) if raw else None
    except InvalidInput:
        return None


def _answer(handler: Callable[[func.HttpRequest], func.HttpResponse], req: func.HttpRequest) -> func.HttpResponse:
    try:
        return handler(req)
    except Problem as problem:
        return problem_response(problem, req.url, problem.headers)
    except DomainError as error:
        status, title = status_of(error)
        return problem_response(Problem(status, title, error.detail, code=error.code), req.url, retry_after(error))
    except Exception:
        log.exception("Unhandled error in %s", handler.__name__)
        internal = Problem(500, "Internal error", "The request could not be completed; it is safe to retry.", code="internal")
        return problem_response(internal, req.url)
