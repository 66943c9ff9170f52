"""The dev host, served for real by waitress and exercised over HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import azure.functions as func
import pytest
import requests

from tools.devhost import HostConfig, create_http_server, create_wsgi_app, index

KEY = "test-functions-key"
GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
REPO = Path(__file__).resolve().parents[1]

sample = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@sample.route(route="items/{id:guid}", methods=["GET"])
def item(req: func.HttpRequest) -> func.HttpResponse:
    payload = {
        "route": dict(req.route_params),
        "params": dict(req.params),
        "url": req.url,
        "method": req.method,
        "x_test": req.headers.get("x-test"),
    }
    return func.HttpResponse(json.dumps(payload), mimetype="application/json", headers={"X-Out": "yes"})


@sample.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"Hello, {req.route_params.get('name', 'world')}")


@sample.route(route="files/{*rest}")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"rest={req.route_params.get('rest', '')}", headers={"Content-Type": "text/csv"})


@sample.route(route="users/me", methods=["GET"])
def me(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("literal")


@sample.route(route="users/{name}", methods=["GET"])
def user(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"param={req.route_params['name']}")


@sample.route(route="secret", auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("top secret")


@sample.route(route="echo", methods=["POST"], trigger_arg_name="request")
async def echo(request: func.HttpRequest) -> func.HttpResponse:
    await asyncio.sleep(0)
    return func.HttpResponse(request.get_body(), mimetype="application/octet-stream")


@sample.route(route="login", methods=["POST"])
def login(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse(status_code=302, headers={"Location": "/api/hello/you"})
    response.headers.add("Set-Cookie", "session=abc; Path=/; HttpOnly")
    response.headers.add("Set-Cookie", "theme=dark; Path=/")
    return response


@sample.route(route="whoami", methods=["GET"])
def whoami(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    payload = {"name": context.function_name, "id": context.invocation_id, "trace": context.trace_context.trace_parent}
    return func.HttpResponse(json.dumps(payload), mimetype="application/json")


@sample.route(route="boom")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("kaboom-secret-detail")


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = create_http_server(create_wsgi_app(index(sample), "api", functions_key=KEY), "127.0.0.1", 0, 4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()


def get(url: str, **kwargs: object) -> requests.Response:
    return requests.get(url, allow_redirects=False, timeout=5, **kwargs)  # type: ignore[arg-type]


def test_guid_route_params_query_and_headers(base: str) -> None:
    r = get(f"{base}/api/items/{GUID}?b=x", headers={"X-Test": "in"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Out"] == "yes"
    assert r.json() == {
        "route": {"id": GUID},
        "params": {"b": "x"},
        "url": f"{base}/api/items/{GUID}?b=x",
        "method": "GET",
        "x_test": "in",
    }


def test_query_params_as_the_host_maps_them(base: str) -> None:
    """The host joins repeated keys with a comma (keys are case-insensitive) and drops empty values."""
    r = get(f"{base}/api/items/{GUID}?a=1&a=2&empty=&bare&A=3&c=%2C&d=&d=x")
    assert r.json()["params"] == {"a": "1,2,3", "c": ",", "d": ",x"}
    assert r.json()["url"].endswith("?a=1&a=2&empty=&bare&A=3&c=%2C&d=&d=x")  # the raw URL is untouched


def test_guid_constraint_rejects_other_values(base: str) -> None:
    assert get(f"{base}/api/items/not-a-guid").status_code == 404


def test_optional_param(base: str) -> None:
    r = get(f"{base}/api/hello")
    assert r.text == "Hello, world"
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert get(f"{base}/api/hello/Ada").text == "Hello, Ada"


def test_catch_all(base: str) -> None:
    r = get(f"{base}/api/files/a/b/c.txt")
    assert r.text == "rest=a/b/c.txt"
    assert r.headers["Content-Type"] == "text/csv"  # an explicit header replaces the mimetype
    assert get(f"{base}/api/files").text == "rest="


def test_literal_segments_are_case_insensitive_and_win_over_params(base: str) -> None:
    assert get(f"{base}/API/Hello/Bob").text == "Hello, Bob"  # param value keeps its case
    assert get(f"{base}/api/USERS/Me").text == "literal"
    assert get(f"{base}/api/users/someone").text == "param=someone"


def test_function_key_required(base: str) -> None:
    for r in (get(f"{base}/api/secret"), get(f"{base}/api/secret", headers={"x-functions-key": "wrong"})):
        assert (r.status_code, r.content) == (401, b"")
    assert get(f"{base}/api/secret?code=wrong").status_code == 401
    assert get(f"{base}/api/secret", headers={"x-functions-key": KEY}).text == "top secret"
    assert get(f"{base}/api/secret?code={KEY}").text == "top secret"


def test_async_function_round_trips_body_bytes(base: str) -> None:
    body = bytes(range(256))
    r = requests.post(f"{base}/api/echo", data=body, timeout=5)
    assert r.status_code == 200
    assert r.content == body
    assert r.headers["Content-Type"] == "application/octet-stream"


def test_redirect_with_two_cookies(base: str) -> None:
    r = requests.post(f"{base}/api/login", allow_redirects=False, timeout=5)
    assert r.status_code == 302
    assert r.headers["Location"] == "/api/hello/you"
    assert r.raw.headers.getlist("Set-Cookie") == ["session=abc; Path=/; HttpOnly", "theme=dark; Path=/"]
    assert r.cookies.get_dict() == {"session": "abc", "theme": "dark"}


def test_unknown_route_wrong_method_and_head_are_empty_404s(base: str) -> None:
    """The host has no 405 and no implicit HEAD for GET routes: all of these are 404 with no body."""
    responses = [
        get(f"{base}/api/nope"),
        get(f"{base}/items/{GUID}"),  # the route prefix is required
        requests.delete(f"{base}/api/items/{GUID}", timeout=5),
        requests.post(f"{base}/api/hello/Ada", timeout=5),
        requests.head(f"{base}/api/items/{GUID}", timeout=5),
    ]
    assert [(r.status_code, r.content, "Allow" in r.headers) for r in responses] == [(404, b"", False)] * 5
    assert requests.delete(f"{base}/api/files/x", timeout=5).text == "rest=x"  # no methods listed: every method


def test_idle_keep_alive_connections_do_not_lock_others_out(base: str) -> None:
    """Waitress's default cap (100 connections) let idle clients block everyone; the host has no such cap."""
    host, port = base.removeprefix("http://").split(":")
    idle: list[socket.socket] = []
    try:
        for _ in range(150):
            conn = socket.create_connection((host, int(port)), timeout=5)
            conn.sendall(b"GET /api/hello HTTP/1.1\r\nHost: x\r\n\r\n")  # a served request, then kept alive
            idle.append(conn)
        for conn in idle:
            assert conn.recv(4096).startswith(b"HTTP/1.1 200")
        assert get(f"{base}/api/hello").text == "Hello, world"
    finally:
        for conn in idle:
            conn.close()


def test_a_context_parameter_gets_the_invocation_context(base: str) -> None:
    first, second = get(f"{base}/api/whoami").json(), get(f"{base}/api/whoami").json()
    assert first["name"] == "whoami"
    assert first["id"] != second["id"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", first["trace"])


def test_exception_is_500_without_traceback(base: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="devhost"):
        r = get(f"{base}/api/boom")
    assert r.status_code == 500
    assert "kaboom" not in r.text and "Traceback" not in r.text
    assert any("kaboom-secret-detail" in (rec.exc_text or "") for rec in caplog.records)


def test_route_prefix_from_host_json(tmp_path: Path) -> None:
    assert HostConfig.load(tmp_path / "host.json", {}).route_prefix == "api"
    (tmp_path / "host.json").write_text('{"extensions": {"http": {"routePrefix": ""}}}')
    assert HostConfig.load(tmp_path / "host.json", {}).route_prefix == ""


def test_cli_serves_app_with_host_json_prefix_and_generated_key(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0", "extensions": {"http": {"routePrefix": "v1"}}}')
    (tmp_path / "myapp.py").write_text(
        textwrap.dedent(
            """
            import azure.functions as func
            app = func.FunctionApp()
            @app.route(route="ping")
            def ping(req: func.HttpRequest) -> func.HttpResponse:
                return func.HttpResponse("pong")
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "FUNCTIONS_KEY"} | {"PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.devhost", "--app", "myapp:app", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        key_line = proc.stdout.readline()
        ready_line = proc.stdout.readline()
        assert ready_line.startswith("Dev host ready on http://127.0.0.1:")
        url = ready_line.split()[-1]
        key = key_line.rsplit(" ", 1)[-1].strip()
        assert get(f"{url}/v1/ping").status_code == 401  # FunctionApp() defaults to FUNCTION auth
        assert get(f"{url}/v1/ping", headers={"x-functions-key": key}).text == "pong"
        assert get(f"{url}/api/ping").status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=5)
