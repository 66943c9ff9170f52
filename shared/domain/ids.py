"""Ids as they come in from outside: every key the app writes (invitation, batch, company, e-mail
send = ACS operation) is a UUID, so an id is checked to be one, and put in its canonical form,
before it becomes a storage key."""

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from shared.domain.errors import InvalidInput

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


# The type of every id field of what comes from outside (queue messages, delivery reports, sealed state).
Uuid = Annotated[str, StringConstraints(max_length=36), AfterValidator(canonical_uuid)]
