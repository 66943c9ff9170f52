"""The app's functions as the Python worker sees them, and how the worker calls one."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func
from azure.functions.decorators.function_app import Function

log = logging.getLogger("devhost")

_SETTING = re.compile(r"%([^%]+)%")


def index(function_app: func.FunctionApp) -> list[Function]:
    """Index the app once (``get_functions()`` refuses a second indexing) and refuse what the dev host can't run."""
    functions = function_app.get_functions()
    for function in functions:
        extra = [binding.name for binding in function.get_bindings() if binding is not function.get_trigger()]
        if function.is_http_function():
            extra = [name for name in extra if name != "$return"]  # the HTTP response
        if extra:
            raise SystemExit(
                f"Function {function.get_function_name()}: the dev host runs triggers only, not the bindings {extra}"
            )
    return functions


def resolve_setting(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``%NAME%`` binding expressions take the app setting's value, as in the host (``queue_name="%WORK_QUEUE%"``)."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        if match[1] not in env:
            raise SystemExit(f"binding expression {match[0]}: no app setting {match[1]}")
        return env[match[1]]

    return _SETTING.sub(value, text)


def call(handler: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
    """Call a sync or async function (the worker runs async ones on an event loop; pool threads have none)."""
    result = handler(**arguments)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result


def invoke(name: str, handler: Callable[..., Any], arguments: Mapping[str, Any], reason: str) -> bool:
    """Run a non-HTTP function, logging like the host; True if it succeeded (an exception is a failed invocation)."""
    invocation_id = uuid.uuid4()
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)
    started = time.monotonic()
    try:
        call(handler, arguments)
    except Exception:
        log.exception(
            "Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)", name, invocation_id, (time.monotonic() - started) * 1000
        )
        return False
    log.info(
        "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)", name, invocation_id, (time.monotonic() - started) * 1000
    )
    return True
