"""Ids as they come in from outside: every key the app writes (invitation, batch, company, e-mail
send = ACS operation) is a UUID, so an id is checked to be one, and put in its canonical form,
before it becomes a storage key. Apart from the models so that the request log context
(web/problems.py) can parse one without importing pydantic at cold start: `Uuid` builds its
pydantic schema only when a model using it is defined."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Annotated, Any

from shared.domain.errors import InvalidInput

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

_UUID = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


def canonical_uuid(value: str) -> str:
    """The canonical form (lower case, hyphenated) of a UUID spelled as 32 hex digits, hyphens
    optional, either case, nothing around it; ValueError, without the value, for anything else."""
    if not _UUID.fullmatch(value):
        raise ValueError("Input should be a UUID")
    return str(uuid.UUID(value))


def parse_invitation_id(value: str | None, what: str = "invitation") -> str:
    """The canonical form of an invitation (or batch) id, or InvalidInput."""
    try:
        return canonical_uuid(value or "")
    except ValueError:
        raise InvalidInput(f"'{value or ''}' is not a valid {what} id (a UUID was expected).", code="invalid-id") from None


class _UuidText:
    """pydantic metadata: a string that `canonical_uuid` accepts, as its canonical form."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(canonical_uuid, core_schema.str_schema(max_length=36))


# The type of every id field of what comes from outside (queue messages, delivery reports, sealed state).
Uuid = Annotated[str, _UuidText()]
