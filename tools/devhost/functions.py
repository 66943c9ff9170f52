"""The app's functions as the Python worker sees them, and how the worker calls one."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import azure.functions as func
from azure.functions._abc import RetryContext, TraceContext
from azure.functions.decorators.function_app import Function

log = logging.getLogger("devhost")

_SETTING = re.compile(r"%([^%]+)%")


@functools.cache
def index(function_app: func.FunctionApp) -> list[Function]:
    """The app's functions, indexed once per process (``get_functions()`` refuses a second call, so tests that
    look at the registered functions use this too); refuses what the dev host can't run."""
    functions = function_app.get_functions()
    for function in functions:
        extra = [binding.name for binding in function.get_bindings() if binding is not function.get_trigger()]
        if function.is_http_function():
            extra = [name for name in extra if name != "$return"]  # the HTTP response
        if extra:
            raise SystemExit(f"Function {function.get_function_name()}: the dev host runs triggers only, not the bindings {extra}")
    return functions


def resolve_setting(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``%NAME%`` binding expressions take the app setting's value, as in the host (``queue_name="%WORK_QUEUE%"``)."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        if match[1] not in env:
            raise SystemExit(f"binding expression {match[0]}: no app setting {match[1]}")
        return env[match[1]]

    return _SETTING.sub(value, text)


class _TraceContext(TraceContext):
    def __init__(self) -> None:
        self._parent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"  # W3C traceparent, a fresh trace

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(RetryContext):
    """The dev host runs no retry policies: every invocation is the first."""

    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class InvocationContext(func.Context):
    """What the worker passes to a function's ``context`` parameter."""

    _storage = threading.local()

    def __init__(self, invocation_id: str, function_name: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._storage

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return os.getcwd()  # the script root, where func start runs

    @property
    def trace_context(self) -> TraceContext:
        return _TraceContext()

    @property
    def retry_context(self) -> RetryContext:
        return _RetryContext()


@functools.cache
def _takes_context(handler: Callable[..., Any]) -> bool:
    """Whether the function has a ``context`` parameter (looked up once per function, not per call)."""
    return "context" in inspect.signature(handler).parameters


def call(name: str, handler: Callable[..., Any], arguments: Mapping[str, Any], invocation_id: str | None = None) -> Any:
    """Call a function as the worker does: a parameter named ``context`` gets the invocation's context, and
    async functions run on an event loop (pool threads have none)."""
    if _takes_context(handler):
        arguments = {**arguments, "context": InvocationContext(invocation_id or str(uuid.uuid4()), name)}
    result = handler(**arguments)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result


def invoke(name: str, handler: Callable[..., Any], arguments: Mapping[str, Any], reason: str) -> bool:
    """Run a non-HTTP function, logging like the host; True if it succeeded (an exception is a failed invocation)."""
    invocation_id = str(uuid.uuid4())
    log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", name, reason, invocation_id)
    started = time.monotonic()
    try:
        call(name, handler, arguments, invocation_id)
    except Exception:
        log.exception("Executed 'Functions.%s' (Failed, Id=%s, Duration=%dms)", name, invocation_id, (time.monotonic() - started) * 1000)
        return False
    log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%dms)", name, invocation_id, (time.monotonic() - started) * 1000)
    return True
