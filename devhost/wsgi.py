"""WSGI adapter that serves a v2 ``func.FunctionApp``'s HTTP functions the way the Functions host does."""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import azure.functions as func
from azure.functions.decorators.http import HttpTrigger
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger("devhost")

KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
_PROTECTED = {func.AuthLevel.FUNCTION, func.AuthLevel.ADMIN}


class _Literal(BaseConverter):
    """A literal segment as a converter, because werkzeug's static parts are case-sensitive and Azure's aren't."""

    weight = 1  # literals win over parameters, as in ASP.NET route precedence

    def __init__(self, map: Map, text: str) -> None:
        super().__init__(map)
        self.regex = f"(?i:{re.escape(text)})"

    def to_python(self, value: str) -> Any:
        return _Literal  # sentinel: dropped from route_params


class _Guid(BaseConverter):
    regex = r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}"  # Guid "D" and "N" forms
    weight = 50


class _Int(BaseConverter):
    # Azure route params stay strings, so werkzeug's IntegerConverter (to_python -> int) doesn't fit.
    regex = r"-?\d+"
    weight = 50


class _Alpha(BaseConverter):
    regex = r"[A-Za-z]+"
    weight = 50


_CONVERTERS: dict[str, type[BaseConverter]] = {
    "lit": _Literal,
    "guid": _Guid,
    "int": _Int,
    "long": _Int,
    "alpha": _Alpha,
}
_PARAM = re.compile(r"\{(?P<star>\*{1,2})?(?P<name>\w+)(?P<constraints>(?::[^:{}?=]+)*)(?P<opt>\?)?\}")


def _segment_rule(segment: str, counter: list[int]) -> tuple[str, bool]:
    """Translate one template segment; returns (werkzeug rule text, whether the segment may be omitted)."""
    out: list[str] = []
    optional = False
    pos = 0

    def literal(text: str) -> None:
        if text:
            quote = "'" if '"' in text else '"'
            out.append(f"<lit({quote}{text}{quote}):_lit{counter[0]}>")
            counter[0] += 1

    for m in _PARAM.finditer(segment):
        literal(segment[pos : m.start()])
        pos = m.end()
        if m["star"]:
            out.append(f"<path:{m['name']}>")
            optional = True  # a catch-all also matches nothing
            continue
        constraints = m["constraints"].lower().split(":")
        constraint = next((c for c in constraints if c in _CONVERTERS and c != "lit"), "default")  # unknown: plain
        out.append(f"<{constraint}:{m['name']}>")
        optional = optional or bool(m["opt"])
    literal(segment[pos:])
    return "".join(out), optional


def _rules_for(template: str) -> list[str]:
    """One werkzeug rule per way the template can match: Azure lets trailing optional/catch-all segments be absent."""
    counter = [0]
    parts: list[str] = []
    rules: list[str] = []
    for segment in filter(None, template.split("/")):
        text, optional = _segment_rule(segment, counter)
        if optional:
            rules.append("/" + "/".join(parts))
        parts.append(text)
    rules.append("/" + "/".join(parts))
    return rules


@dataclass(frozen=True)
class HttpRoute:
    name: str
    template: str
    methods: tuple[str, ...] | None  # None: every method, as when the trigger lists none
    auth_level: func.AuthLevel
    param_name: str
    handler: Callable[..., Any]


def http_routes(function_app: func.FunctionApp, route_prefix: str = "api") -> list[HttpRoute]:
    """HTTP functions of the app; call once, since ``get_functions()`` rejects a second indexing as duplicate names."""
    routes: list[HttpRoute] = []
    for f in function_app.get_functions():
        if not f.is_http_function():
            continue
        trigger = cast(HttpTrigger, f.get_trigger())  # is_http_function() said so
        name = str(f.get_function_name())
        methods = tuple(str(m).upper() for m in trigger.methods) if trigger.methods else None
        template = "/".join(p.strip("/") for p in (route_prefix, trigger.route or name) if p.strip("/"))
        auth = trigger.auth_level or func.AuthLevel.FUNCTION  # FUNCTION is the host's default
        routes.append(HttpRoute(name, template, methods, auth, str(trigger.name), f.get_user_function()))
    return routes


def load_route_prefix(host_json: Path) -> str:
    """``extensions.http.routePrefix`` from host.json; ``api`` when absent, like the host."""
    if not host_json.is_file():
        return "api"
    prefix = json.loads(host_json.read_text(encoding="utf-8")).get("extensions", {}).get("http", {}).get("routePrefix")
    return "api" if prefix is None else str(prefix)


def _plain(status: int, body: str = "", headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(body, status=status, mimetype="text/plain", headers=list(headers))


def _to_response(result: Any) -> Response:
    if isinstance(result, (str, bytes)):  # the worker accepts a bare body for the $return http binding
        result = func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"HTTP function returned {type(result).__name__}, expected func.HttpResponse")
    response = Response(result.get_body(), status=result.status_code)
    mimetype = result.mimetype
    response.headers["Content-Type"] = f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/") else mimetype
    for key, value in result.headers.items():  # .items() on werkzeug Headers keeps repeated Set-Cookie lines
        if key.lower() == "content-type":
            response.headers["Content-Type"] = value
        elif key.lower() != "content-length":  # werkzeug computes it from the body
            response.headers.add(key, value)
    return response


def create_wsgi_app(
    function_app: func.FunctionApp, route_prefix: str = "api", *, functions_key: str
) -> WSGIApplication:
    """WSGI app serving ``function_app``'s HTTP functions under ``/{route_prefix}``; ``functions_key`` unlocks FUNCTION/ADMIN routes."""
    if not functions_key:
        raise ValueError("functions_key must be non-empty")
    routes = http_routes(function_app, route_prefix)
    for route in routes:
        log.info("%s: [%s] /%s (auth: %s)", route.name, ",".join(route.methods or ["ALL"]), route.template, route.auth_level.value)
    url_map = Map(
        [Rule(rule, endpoint=route, methods=route.methods) for route in routes for rule in _rules_for(route.template)],
        converters=_CONVERTERS,
        strict_slashes=False,
        merge_slashes=False,
        redirect_defaults=False,
    )
    expected_key = functions_key.encode()

    def authorized(request: Request) -> bool:
        key = request.headers.get(KEY_HEADER) or request.args.get(KEY_QUERY) or ""
        return hmac.compare_digest(key.encode(), expected_key)

    def invoke(route: HttpRoute, request: Request, values: Mapping[str, Any]) -> Response:
        http_request = func.HttpRequest(
            method=request.method,
            url=request.url,
            headers=dict(request.headers.items()),
            params=request.args.to_dict(),  # first value per key, like Azure
            route_params={k: v for k, v in values.items() if v is not _Literal},
            body=request.get_data(),
        )
        try:
            result = route.handler(**{route.param_name: http_request})
            if inspect.iscoroutine(result):
                result = asyncio.run(result)  # waitress worker threads have no running loop
            return _to_response(result)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", route.name)
            return _plain(500, "Internal Server Error")

    @Request.application
    def app(request: Request) -> Response:
        try:
            route, values = url_map.bind_to_environ(request.environ).match()
        except MethodNotAllowed as exc:
            return _plain(405, "Method Not Allowed", [("Allow", ", ".join(sorted(exc.valid_methods or ())))])
        except HTTPException as exc:
            return _plain(exc.code or 404, exc.name)
        if route.auth_level in _PROTECTED and not authorized(request):
            return _plain(401)  # the host answers 401 with an empty body
        response = invoke(route, request, values)
        log.info("%s %s -> %s (Functions.%s)", request.method, request.path, response.status_code, route.name)
        return response

    return app
