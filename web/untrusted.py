"""What is wrong with a value from outside, for the log line that says why it was let go: where and
what, never the values (a queue message or a delivery report may carry an e-mail address)."""

from __future__ import annotations

from pydantic import ValidationError


def what_is_wrong(error: ValidationError, whole: str = "(body)") -> str:
    """pydantic's errors as `where: what; …`, `whole` where the value itself is wrong. An unknown
    field is not named: its name is the sender's, as much a value as any."""
    return "; ".join(
        f"{'.'.join(str(part) for part in _where(item['loc'], item['type'])) or whole}: {item['msg']}"
        for item in error.errors(include_input=False, include_url=False, include_context=False)
    )


def _where(loc: tuple[int | str, ...], kind: str) -> tuple[int | str, ...]:
    return (*loc[:-1], "(unknown field)") if kind == "extra_forbidden" else loc
