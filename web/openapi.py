"""The OpenAPI 3.1 document of the staff API, built from the pydantic models it validates with.

The schemas come from the models themselves (camelCase aliases, the same constraints the API
enforces), so the document cannot drift from the code; the paths, parameters and responses are
written out here. `document()` is built once per process; `document_json()` is what
GET /api/openapi.json serves.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from shared import routes
from shared.domain.batches import MAX_ROWS, BatchView
from shared.domain.events import InvitationEvent
from shared.domain.funnel import Funnel, FunnelQuery
from shared.domain.models import InvitationPage, InvitationRequest, InvitationView, ListQuery
from shared.settings import Settings, get_settings

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"
KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
STAFF_ROLE = "Invitations.Manage"  # shared.adapters.staff_tokens.STAFF_ROLE; not imported: it would load PyJWT here
PROBLEM_JSON = "application/problem+json"

# RFC 9457 problem details as web.problems.problem_response writes them.
PROBLEM_DETAILS_SCHEMA: dict[str, Any] = {
    "title": "ProblemDetails",
    "description": "RFC 9457 problem details; `errors` lists validation errors with a JSON Pointer each.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
                "required": ["pointer", "detail"],
            },
        },
        "existingInvitationId": {"type": "string", "format": "uuid", "description": "409 on create: the open invitation."},
        "existingInvitation": {"type": "string", "description": "409 on create: the open invitation's path."},
    },
    "required": ["type", "title", "status", "detail"],
}

# A valid request (docs/reference/staff-api.md's), so the document shows one and generated tests start from a success.
REQUEST_EXAMPLE: dict[str, Any] = {
    "invitee": {"email": "anna.keller@contoso.example", "displayName": "Anna Keller"},
    "inviter": {"name": "Mohamed-Nour, Tamer", "organisation": "GFMS"},
    "company": {
        "name": "Contoso Precision AG",
        "street": "Industriestrasse 12",
        "postalCode": "8500",
        "city": "Frauenfeld",
        "country": "CH",
        "vatNumber": "CHE-123.456.789",
        "phone": "+41 52 123 45 67",
        "website": "https://contoso.example",
    },
    "role": "admin",
    "language": "de",
    "message": "Willkommen!",
    "ttlDays": 7,
    "reminders": True,
}

_ERRORS = {
    400: "Malformed JSON, an invalid invitation id or continuation token, or a redirectUrl outside the allow-list.",
    401: (
        "A bearer token was sent and refused (not `Bearer <token>`, bad signature, issuer, audience or lifetime; or this "
        'deployment takes no tokens): problem details with `WWW-Authenticate: Bearer error="invalid_token"`. A missing '
        "or wrong function key is refused by the Functions host before the app, with an empty body and no problem details."
    ),
    403: f"A valid bearer token without the app role `{STAFF_ROLE}` (even to read).",
    404: "No invitation has this id.",
    409: (
        "The transition is not allowed in the invitation's current status, or a concurrent change won; on create, "
        "the address already has an open (pending or accepted) invitation: `existingInvitationId` and "
        "`existingInvitation` (its path) name it, and `allowDuplicate: true` invites again deliberately."
    ),
    413: "The body is larger than 64 KiB (4 MiB for a batch).",
    415: "The body was not sent as `Content-Type: application/json` (or `text/csv` for a batch).",
    422: "Validation failed (`errors[]` has a JSON Pointer per field), or an Idempotency-Key was reused with another body.",
    503: "Storage (or, for a bearer token, Entra ID's signing keys) cannot be reached right now; retry after the `Retry-After` seconds.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=name)}


def _component_schemas() -> dict[str, Any]:
    """The models' schemas (request bodies as validated, responses as serialized) with their
    nested models' `$defs` hoisted beside them under components.schemas."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (InvitationRequest, "validation"),
        (InvitationView, "serialization"),
        (InvitationPage, "serialization"),
        (BatchView, "serialization"),
        (Funnel, "serialization"),
        # Not an HTTP body: the lifecycle events on the invitation-events queue, published here for consumers.
        (InvitationEvent, "serialization"),
    ]
    refs, top = models_json_schema(models, by_alias=True, ref_template=REF_TEMPLATE)
    for (model, _), ref in refs.items():
        # The operations refer to each model by its class name; pydantic only renames on a clash.
        if ref != _ref(model.__name__):
            raise RuntimeError(f"{model.__name__} is published as {ref}")
    query = ListQuery.model_json_schema(by_alias=True, ref_template=REF_TEMPLATE)
    schemas = {**query.get("$defs", {}), **top["$defs"], "ProblemDetails": PROBLEM_DETAILS_SCHEMA}
    return dict(sorted(schemas.items()))


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` as a query parameter is simply X: an absent parameter is the None."""
    options = schema.get("anyOf")
    if options:
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) == 1:
            extra = {key: value for key, value in schema.items() if key not in ("anyOf", "default", "title")}
            return {**extra, **rest[0]}
    return {key: value for key, value in schema.items() if key != "title"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _empty_is_absent(_not_null(property_schema))}
        for name, property_schema in schema["properties"].items()
    ]


def _empty_is_absent(schema: dict[str, Any]) -> dict[str, Any]:
    """The Functions host drops empty query values before the function runs, so `?email=`
    is the same as no `email`: the document admits the empty value too."""
    return {"anyOf": [schema, {"type": "string", "maxLength": 0}], "description": "Empty: the same as leaving it out."}


def _json(schema: dict[str, Any], media_type: str = "application/json", **extra: Any) -> dict[str, Any]:
    return {"content": {media_type: {"schema": schema, **extra}}}


def _responses(
    success: tuple[int, str, str], *errors: int, headers: dict[str, Any] | None = None, links: dict[str, Any] | None = None
) -> dict[str, Any]:
    status, description, model = success
    responses: dict[str, Any] = {str(status): {"description": description, **_json(_ref(model))}}
    if headers:
        responses[str(status)]["headers"] = headers
    if links:
        responses[str(status)]["links"] = links
    # Every operation checks the caller (401/403, web/staff_identity.py) and reads or writes storage (503).
    for code in sorted({*errors, 401, 403, 503}):
        responses[str(code)] = {"description": _ERRORS[code], **_json(_ref("ProblemDetails"), PROBLEM_JSON)}
    responses["401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'On a refused bearer token: `Bearer error="invalid_token"`.'}
    }
    responses["503"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return responses


ID_PARAMETER = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The invitation id.",
    "schema": {"type": "string", "format": "uuid"},
}


# What a client can do next with an invitation it got back, from any answer that is one (OpenAPI
# links; stateful testing follows them, so it also revokes twice, or resends a revoked one).
_INVITATION_LINKS = {
    name: {"operationId": operation_id, "parameters": {"id": "$response.body#/id"}}
    for name, operation_id in (
        ("GetInvitation", "getInvitation"),
        ("RevokeInvitation", "revokeInvitation"),
        ("ResendInvitation", "resendInvitation"),
        ("ResetInvitation", "resetInvitation"),
    )
}


def _transition(operation_id: str, summary: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["invitations"],
            "parameters": [ID_PARAMETER],
            "responses": _responses(
                (200, "The invitation after the transition.", "InvitationView"), 400, 404, 409, links=_INVITATION_LINKS
            ),
        }
    }


_BATCH_REQUEST: dict[str, Any] = {
    "required": True,
    "description": (
        f"1 to {MAX_ROWS} invitations (at most 4 MiB): a JSON array of InvitationRequest, or CSV (UTF-8, a byte "
        "order mark allowed) whose header row names the same fields flattened with dots "
        "(`invitee.email,invitee.displayName,inviter.name,...,company.country,...,role,language,ttlDays`); an empty "
        "cell is an absent field. Row i (the array's element or the line after the header) is `/rows/{i}` in errors."
    ),
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": _ref("InvitationRequest"), "minItems": 1, "maxItems": MAX_ROWS},
            "example": [REQUEST_EXAMPLE],
        },
        "text/csv": {"schema": {"type": "string"}},
    },
}


def _batch_paths() -> dict[str, Any]:
    location = {"schema": {"type": "string"}, "description": "The batch's URL (GET it for per-row results)."}
    return {
        "/" + routes.BATCHES: {
            "post": {
                "operationId": "createInvitationBatch",
                "summary": "Invite many customers at once (202: queue workers create the invitations)",
                "description": (
                    "Every row is validated as a single create validates it. By default one invalid row refuses the batch "
                    "(422 listing every invalid row and field); with `Prefer: handling=lenient` (RFC 7240) the valid rows "
                    "are accepted and the others reported as `rejected`. The rows are stored and answered 202; queue "
                    "workers create each invitation (its e-mail follows as for a single create)."
                ),
                "tags": ["invitations"],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "A retried request with the same key and body returns the same batch.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "Prefer",
                        "in": "header",
                        "required": False,
                        "description": "`handling=lenient`: accept the valid rows, report the others; `handling=strict` (default).",
                        "schema": {"type": "string"},
                    },
                ],
                "requestBody": _BATCH_REQUEST,
                "responses": _responses(
                    (202, "The batch, its rows queued (or rejected, with lenient handling).", "BatchView"),
                    400,
                    413,
                    415,
                    422,
                    headers={
                        "Location": location,
                        "Preference-Applied": {"schema": {"type": "string"}, "description": "The handling applied."},
                        "Idempotent-Replayed": {
                            "schema": {"type": "string", "enum": ["true"]},
                            "description": "Present when the Idempotency-Key replayed an earlier request.",
                        },
                    },
                    links={"GetInvitationBatch": {"operationId": "getInvitationBatch", "parameters": {"id": "$response.body#/id"}}},
                ),
            }
        },
        "/" + routes.BATCH: {
            "get": {
                "operationId": "getInvitationBatch",
                "summary": "A batch's status, per-row results (created invitation id, or the problem) and expected completion",
                "description": "Its e-mails are paced to ACS's sending quota, leaving room for single invitations: "
                "`expectedCompletionAt` says when the last is due to be handed over.",
                "tags": ["invitations"],
                "parameters": [{**ID_PARAMETER, "description": "The batch id."}],
                "responses": _responses((200, "The batch.", "BatchView"), 400, 404),
            }
        },
    }


@dataclass(frozen=True)
class StaffTokenIssuer:
    """Where the bearer tokens the staff API accepts come from (Settings.staff_api_metadata_url)."""

    metadata_url: str
    audience: str

    @classmethod
    def of(cls, settings: Settings) -> "StaffTokenIssuer | None":
        url, audience = settings.staff_api_metadata_url, settings.staff_api_audience
        return cls(url, audience) if url and audience else None


def _security_schemes(tokens: StaffTokenIssuer | None) -> dict[str, Any]:
    """How a staff caller authenticates, as web/staff_identity.py and shared/adapters/staff_tokens.py
    accept it: always the function key (header or query: the host reads the header first); a bearer
    token only beside the key, and only when the deployment accepts tokens."""
    key = "The function key; the Functions host refuses a request without it (401, empty body) before the app runs."
    schemes: dict[str, Any] = {
        "functionKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER, "description": key},
        "functionKeyQuery": {
            "type": "apiKey",
            "in": "query",
            "name": KEY_QUERY,
            "description": f"{key} For clients that cannot send headers; `{KEY_HEADER}` wins when both are sent.",
        },
    }
    if tokens is not None:
        schemes["entraId"] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "Optional, beside the function key (never instead of it): an Entra ID v2.0 access token (RS256), its "
                f"issuer and signing keys those of {tokens.metadata_url}, for the audience `{tokens.audience}`, with the "
                f"app role `{STAFF_ROLE}` in `roles`; the audit names its `preferred_username`, `upn` or `oid`. A token "
                "that fails is a 401, a valid one without the role a 403: never the key's anonymous caller."
            ),
        }
    return schemes


def _security(tokens: StaffTokenIssuer | None) -> list[dict[str, list[str]]]:
    """Either key alone, or either key with a bearer token holding the role (alternatives are OR-ed,
    the schemes within one are AND-ed; for an http scheme the list names the roles required)."""
    keys: list[dict[str, list[str]]] = [{"functionKey": []}, {"functionKeyQuery": []}]
    if tokens is None:
        return keys
    return keys + [{**key, "entraId": [STAFF_ROLE]} for key in keys]


def build(base_url: str, tokens: StaffTokenIssuer | None = None) -> dict[str, Any]:
    """The document for a deployment whose PUBLIC_BASE_URL is `base_url`, accepting bearer tokens
    from `tokens` (None: the function key only)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "rConnect invitations: staff API",
            "version": API_VERSION,
            "description": (
                "Issue and manage customer invitations. Send the function key as `x-functions-key` "
                "(or `?code=`)"
                + (f", and optionally an Entra ID bearer token with the app role `{STAFF_ROLE}` beside it" if tokens else "")
                + ". Errors are RFC 9457 `application/problem+json`."
            ),
        },
        "servers": [{"url": base_url.rstrip("/") + f"/{routes.PREFIX}"}],
        "security": _security(tokens),
        "tags": [{"name": "invitations"}],
        "paths": {
            "/" + routes.INVITATIONS: {
                "post": {
                    "operationId": "createInvitation",
                    "summary": "Invite a customer by e-mail",
                    "description": (
                        "Stores the invitation with its e-mail queued (`email.status` `queued`) and answers; the "
                        "e-mail leaves from a queue right after, within ACS's sending quota (when it must wait, "
                        "`email.nextAttemptAt` says until when). Read the invitation to follow `email.status`: "
                        "sent (accepted by ACS), then delivered, bounced, suppressed or failed (with `email.error`)."
                    ),
                    "tags": ["invitations"],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "A retried request with the same key and body returns the first result.",
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {"required": True, **_json(_ref("InvitationRequest"), example=REQUEST_EXAMPLE)},
                    "responses": _responses(
                        (201, "The invitation (also for a replayed Idempotency-Key).", "InvitationView"),
                        400,
                        409,
                        413,
                        415,
                        422,
                        headers={
                            "Location": {"schema": {"type": "string"}, "description": "The invitation's URL."},
                            "Idempotent-Replayed": {
                                "schema": {"type": "string", "enum": ["true"]},
                                "description": "Present when the Idempotency-Key replayed an earlier request.",
                            },
                        },
                        links=_INVITATION_LINKS,
                    ),
                },
                "get": {
                    "operationId": "listInvitations",
                    "summary": "List invitations, filtered, a page at a time",
                    "tags": ["invitations"],
                    "parameters": _query_parameters(ListQuery),
                    "responses": _responses((200, "One page; continuationToken fetches the next.", "InvitationPage"), 400, 422),
                },
            },
            "/" + routes.INVITATION: {
                "get": {
                    "operationId": "getInvitation",
                    "summary": "One invitation with its audit history",
                    "tags": ["invitations"],
                    "parameters": [ID_PARAMETER],
                    "responses": _responses((200, "The invitation.", "InvitationView"), 400, 404, links=_INVITATION_LINKS),
                }
            },
            "/" + routes.REVOKE: _transition("revokeInvitation", "Revoke a pending or accepted invitation"),
            "/" + routes.RESEND: _transition(
                "resendInvitation",
                "Queue the e-mail again as the next attempt (renews an expired invitation); "
                "while the previous send is still queued, answers with that one",
            ),
            "/" + routes.RESET: _transition("resetInvitation", "Accepted → pending, like Graph's resetRedemption"),
            **_batch_paths(),
            "/" + routes.FUNNEL: {
                "get": {
                    "operationId": "getInvitationFunnel",
                    "summary": "The onboarding funnel: steps per day range, time between steps, stalled invitations",
                    "description": "Counted from a per-day rollup kept with every step, so a call costs the same whatever the "
                    "number of invitations. Durations are approximate (the upper bound of a fixed bucket).",
                    "tags": ["invitations"],
                    "parameters": _query_parameters(FunnelQuery),
                    "responses": _responses((200, "The funnel.", "Funnel"), 400, 422),
                }
            },
        },
        "components": {
            "schemas": _component_schemas(),
            "securitySchemes": _security_schemes(tokens),
        },
    }


@lru_cache
def document() -> dict[str, Any]:
    """The document for this deployment (servers from PUBLIC_BASE_URL); built once. Do not mutate."""
    settings = get_settings()
    return build(settings.base_url, StaffTokenIssuer.of(settings))


@lru_cache
def document_json() -> str:
    return json.dumps(document(), ensure_ascii=False)
