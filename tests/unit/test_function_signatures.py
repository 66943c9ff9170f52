"""The Python worker can index every function of the app."""

import typing

import azure.functions as func

import function_app
from tools.devhost import index


def test_the_worker_resolves_every_function_s_types() -> None:
    # The Python worker reads a function's parameter and return types with typing.get_type_hints when
    # it indexes the app: modules with `from __future__ import annotations` must keep them resolvable.
    triggers = {func.HttpRequest, func.QueueMessage, func.TimerRequest}
    for function in index(function_app.app):
        hints = typing.get_type_hints(function.get_user_function())
        returned = hints.pop("return")
        assert set(hints.values()) <= triggers, (function.get_function_name(), hints)
        assert returned in (func.HttpResponse, type(None)), (function.get_function_name(), returned)
