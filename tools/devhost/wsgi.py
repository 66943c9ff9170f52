"""WSGI adapter that serves a v2 ``func.FunctionApp``'s HTTP functions the way the Functions host does."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import azure.functions as func
from azure.functions.decorators.function_app import Function
from azure.functions.decorators.http import HttpTrigger
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Request, Response

from tools.devhost.functions import call

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("devhost")

# Kestrel has no connection cap; waitress stops accepting at 100 open connections, so 100 idle
# keep-alive clients would lock everyone out. Allow many, and close those idle for a minute.
CONNECTION_LIMIT = 1000
IDLE_SECONDS = 60

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


def http_routes(functions: Iterable[Function], route_prefix: str = "api") -> list[HttpRoute]:
    """The HTTP functions among the app's indexed functions (``tools.devhost.functions.index``)."""
    routes: list[HttpRoute] = []
    for f in functions:
        if not f.is_http_function():
            continue
        trigger = cast(HttpTrigger, f.get_trigger())  # is_http_function() said so
        name = str(f.get_function_name())
        methods = tuple(str(m).upper() for m in trigger.methods) if trigger.methods else None
        template = "/".join(p.strip("/") for p in (route_prefix, trigger.route or name) if p.strip("/"))
        auth = trigger.auth_level or func.AuthLevel.FUNCTION  # FUNCTION is the host's default
        routes.append(HttpRoute(name, template, methods, auth, str(trigger.name), f.get_user_function()))
    return routes


def _plain(status: int, body: str = "") -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _joined(pairs: Iterable[tuple[str, str]], *, drop_empty: bool) -> dict[str, str]:
    """ASP.NET Core's view of a query or header collection: case-insensitive keys (first spelling kept),
    repeated values joined with a comma (``StringValues.ToString()``); the host's RPC mapping drops
    query values that end up empty."""
    values: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(spelling.setdefault(key.lower(), key), []).append(value)
    joined = {key: ",".join(parts) for key, parts in values.items()}
    return {k: v for k, v in joined.items() if v} if drop_empty else joined


def query_params(args: MultiDict[str, str]) -> dict[str, str]:
    """``req.params`` as the host builds it: ``?a=1&a=2&b=`` gives ``{"a": "1,2"}``."""
    return _joined(args.items(multi=True), drop_empty=True)


# A path werkzeug's base_url would neither percent-encode nor decode (unreserved and sub-delimiter
# characters, ':', '@', '/'): the URL is then the root URL and the path as they are.
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_ROOT_URLS: dict[tuple[Any, ...], str] = {}


def _base_url(request: Request) -> str:
    """``request.base_url``, with the scheme-host-root part computed once per distinct host."""
    path = request.path
    if not _PLAIN_PATH.fullmatch(path):
        return request.base_url
    environ = request.environ
    key = tuple(environ.get(name) for name in ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME"))
    root = _ROOT_URLS.get(key)
    if root is None:
        if len(_ROOT_URLS) > 64:  # the Host header is the client's: keep the cache small
            _ROOT_URLS.clear()
        root = _ROOT_URLS[key] = request.root_url
    return root + path.lstrip("/")


def request_url(request: Request) -> str:
    """The URL with its query string as sent (werkzeug's ``request.url`` re-encodes it, the host doesn't)."""
    query = request.query_string.decode("latin-1")
    base = _base_url(request)
    return f"{base}?{query}" if query else base


_ENTITY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """``req.headers`` as the host sends them: lower-case names, a repeated header comma-joined (the WSGI
    server has joined it into one ``HTTP_*`` value already). Read from the environ as werkzeug's
    ``EnvironHeaders`` reads it, without building that object per request."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                headers[key[5:].replace("_", "-").lower()] = value
        elif key in _ENTITY_HEADERS and value:
            headers[_ENTITY_HEADERS[key]] = value
    return headers


@dataclass(frozen=True)
class _Answer:
    """A function's response as werkzeug's ``Response`` would send it in the common case (a body, a
    Location in URI form, Content-Length counted), without building that object per request."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response(f"{self.status} {HTTP_STATUS_CODES[self.status].upper()}", [*self.headers, ("Content-Length", str(len(self.body)))])
        return [self.body]


_URI_HEADERS = {"location": "Location", "content-location": "Content-Location"}


def _to_response(result: Any, method: str) -> _Answer | Response:
    if isinstance(result, (str, bytes)):  # the worker accepts a bare body for the $return http binding
        result = func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"HTTP function returned {type(result).__name__}, expected func.HttpResponse")
    mimetype = result.mimetype
    content_type = f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/") else mimetype
    headers: list[tuple[str, str]] = []
    for key, value in result.headers.items():  # .items() on werkzeug Headers keeps repeated Set-Cookie lines
        lower = key.lower()
        if lower == "content-type":
            content_type = value
        elif lower in _URI_HEADERS:
            headers.append((_URI_HEADERS[lower], iri_to_uri(value)))
        elif lower != "content-length":  # computed from the body
            headers.append((key, value))
    status = result.status_code
    uri_headers = [key for key, _ in headers if key.lower() in _URI_HEADERS]
    if (
        method == "HEAD"
        or status < 200
        or status in (204, 304)
        or status not in HTTP_STATUS_CODES
        or len(set(uri_headers)) < len(uri_headers)
    ):
        # No body, an unknown status or a doubled Location: werkzeug's rules for those, as they were.
        response = Response(result.get_body(), status=status)
        response.headers["Content-Type"] = content_type
        for key, value in result.headers.items():
            if key.lower() not in ("content-type", "content-length"):
                response.headers.add(key, value)
        return response
    return _Answer(status, [("Content-Type", content_type), *headers], result.get_body())


def _rule(text: str, route: HttpRoute) -> Rule:
    rule = Rule(text, endpoint=route, methods=route.methods)
    if route.methods is not None:
        rule.methods = set(route.methods)  # werkzeug adds HEAD to GET rules; the host doesn't
    return rule


def create_wsgi_app(functions: Iterable[Function], route_prefix: str = "api", *, functions_key: str) -> WSGIApplication:
    """WSGI app serving the HTTP functions under ``/{route_prefix}``; ``functions_key`` unlocks FUNCTION/ADMIN routes."""
    if not functions_key:
        raise ValueError("functions_key must be non-empty")
    routes = http_routes(functions, route_prefix)
    for route in routes:
        log.info("%s: [%s] /%s (auth: %s)", route.name, ",".join(route.methods or ["ALL"]), route.template, route.auth_level.value)
    url_map = Map(
        [_rule(text, route) for route in routes for text in _rules_for(route.template)],
        converters=_CONVERTERS,
        strict_slashes=False,
        merge_slashes=False,
        redirect_defaults=False,
    )
    expected_key = functions_key.encode()

    def authorized(request: Request) -> bool:
        key = request.headers.get(KEY_HEADER) or request.args.get(KEY_QUERY) or ""
        return hmac.compare_digest(key.encode(), expected_key)

    # Bound once: the map matches on the path and method alone (no host matching, no redirects).
    adapter = url_map.bind("localhost")

    def invoke(route: HttpRoute, request: Request, values: Mapping[str, Any]) -> _Answer | Response:
        http_request = func.HttpRequest(
            method=request.method,
            url=request_url(request),
            headers=request_headers(request.environ),
            params=query_params(request.args),
            route_params={k: v for k, v in values.items() if v is not _Literal},
            body=request.get_data(),
        )
        try:
            return _to_response(call(route.name, route.handler, {route.param_name: http_request}), request.method)
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", route.name)
            return _plain(500, "Internal Server Error")

    def respond(request: Request) -> _Answer | Response:
        try:
            route, values = adapter.match(request.path, request.method)
        except HTTPException:
            # The host's routing has no 405 and no implicit HEAD: an unknown path, a method the
            # function doesn't list, or HEAD on a GET-only route is a 404 with an empty body.
            return _plain(404)
        if route.auth_level in _PROTECTED and not authorized(request):
            return _plain(401)  # the host answers 401 with an empty body
        response = invoke(route, request, values)
        status = response.status if isinstance(response, _Answer) else response.status_code
        log.info("%s %s -> %s (Functions.%s)", request.method, request.path, status, route.name)
        return response

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            return respond(request)(environ, start_response)
        finally:
            request.close()

    return app


def create_http_server(app: WSGIApplication, host: str, port: int, threads: int) -> BaseWSGIServer | MultiSocketServer:
    """The waitress server the dev host runs (``port=0``: a free port, see ``effective_port``).

    X-Forwarded-For reaches the app as sent: in Azure the front end sets it (the app's per-client budget
    reads it); locally a caller plays the front end, and a request without it is nobody's in particular."""
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_SECONDS,
        clear_untrusted_proxy_headers=False,
    )
