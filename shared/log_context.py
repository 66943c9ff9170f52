"""The invitation a log line is about, on the record itself (`invitation_context`): every record
created inside carries the attribute `invitation_id`, which telemetry exports as a custom dimension."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

INVITATION_ID = "invitation_id"  # the log record attribute / custom dimension
_current_invitation: ContextVar[str | None] = ContextVar(INVITATION_ID, default=None)
_installed = {"log_context": False}


@contextmanager
def invitation_context(invitation_id: str | None) -> Iterator[None]:
    """Log records created inside name this invitation (contextvars: per thread and per invocation)."""
    token = _current_invitation.set(invitation_id)
    try:
        yield
    finally:
        _current_invitation.reset(token)


def install_log_context() -> None:
    """Put the invitation in context on every log record, whichever handler exports it (once per process)."""
    if _installed["log_context"]:
        return
    _installed["log_context"] = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        invitation_id = _current_invitation.get()
        if invitation_id:
            setattr(record, INVITATION_ID, invitation_id)
        return record

    logging.setLogRecordFactory(factory)
