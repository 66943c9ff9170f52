"""Invitation (and batch) ids as links and routes carry them. Apart from the models so that the
request log context (web/problems.py) can parse one without importing pydantic at cold start."""

import re
import uuid

from shared.domain.errors import InvalidInput

_UUID = re.compile(r"[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


def parse_invitation_id(value: str | None, what: str = "invitation") -> str:
    """The canonical form of an invitation (or batch) id (a UUID: 32 hex digits, hyphens optional,
    either case; nothing around it), or InvalidInput."""
    if value is None or not _UUID.fullmatch(value):
        raise InvalidInput(f"'{value or ''}' is not a valid {what} id (a UUID was expected).", code="invalid-id")
    return str(uuid.UUID(value))
