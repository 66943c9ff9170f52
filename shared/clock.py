"""The current time, in one place so every timestamp is timezone-aware UTC."""

from datetime import UTC, datetime, timezone


def utcnow() -> datetime:
    return datetime.now(UTC)
