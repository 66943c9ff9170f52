"""A loopback HTTP proxy in front of Azurite that counts the storage requests the app makes.

Point the app's storage endpoints at the proxy's port and every request that reaches the wire
(retries included) is counted by table or queue and by kind: a point read, a partition query,
a scan, an entity-group transaction, an enqueue... The round-trip budget tests assert these
counts exactly, so they do not depend on the machine's speed. `hang` makes it a storage that
hangs: the requests it matches are read and never answered (until `release`), as a storage
account does whose front end accepts connections but never replies.
"""

from __future__ import annotations

import http.client
import re
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, unquote, urlsplit

from tools.localstack.stack import azurite_connection_string

Request = tuple[str, str]  # (table or queue name, kind), e.g. ("Invitations", "partition-query")
_ENTITY = re.compile(r"^(?P<table>[^/(]+)\((?P<keys>[^)]*)\)$")
_BATCH_TABLE = re.compile(r"^(?:POST|PUT|MERGE|PATCH|DELETE|GET) \S+?/devstoreaccount1/([A-Za-z0-9]+)", re.MULTILINE)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


def table_request(method: str, path: str, query: str, body: bytes, if_match: str | None = None) -> Request:
    """What a Table service request is, from its method, URL (account prefix removed) and If-Match
    (a PUT with an ETag is a guarded replace; without one, an upsert)."""
    name = unquote(path)
    if name == "$batch":  # an entity-group transaction: one table, named by the operations in its body
        inner = _BATCH_TABLE.search(body.decode("utf-8", "replace"))
        return (inner[1] if inner else "", "transaction")
    if name.startswith("Tables"):
        return ("Tables", {"POST": "create-table", "DELETE": "delete-table"}.get(method, "list-tables"))
    entity = _ENTITY.match(name)
    table = entity["table"] if entity else name.rstrip("()")
    if method == "GET":
        if entity and entity["keys"]:
            return (table, "point-read")
        odata_filter = parse_qs(query).get("$filter", [""])[0]
        return (table, "partition-query" if re.search(r"PartitionKey eq '", odata_filter) else "scan")
    put = "replace" if if_match not in (None, "*") else "upsert"
    kinds = {"POST": "insert", "PUT": put, "MERGE": "merge", "PATCH": "merge", "DELETE": "delete"}
    return (table, kinds.get(method, method.lower()))


def queue_request(method: str, path: str, query: str, body: bytes) -> Request:
    parts = unquote(path).split("/")
    queue = parts[0]
    if len(parts) == 1:
        kind = {"PUT": "create-queue", "DELETE": "delete-queue"}.get(method, "queue-properties")
        return (queue, "list-queues" if not queue else kind)
    if len(parts) == 2:
        return (queue, {"POST": "enqueue", "GET": "receive", "DELETE": "clear"}.get(method, method.lower()))
    return (queue, {"DELETE": "delete-message", "PUT": "update-message"}.get(method, method.lower()))


class _Server(ThreadingHTTPServer):
    # socketserver's backlog of 5 drops the SYNs of more connections at once: their clients retry
    # after 1 s, a delay that is the proxy's, not the app's (the dev host's waitress keeps 1024).
    request_queue_size = 128


class CountingProxy:
    """Context manager: one proxy thread per storage service; `counts()` since the last `reset()`."""

    def __init__(self, table_port: int, queue_port: int) -> None:
        self.requests: Counter[Request] = Counter()
        self._lock = threading.Lock()
        self._hanging: Callable[[Request], bool] | None = None
        self._released = threading.Event()
        self._servers = [self._server("table", table_port), self._server("queue", queue_port)]
        self._threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in self._servers]

    @property
    def table_port(self) -> int:
        return int(self._servers[0].server_address[1])

    @property
    def queue_port(self) -> int:
        return int(self._servers[1].server_address[1])

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.table_port, self.queue_port)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def counts(self) -> dict[Request, int]:
        with self._lock:
            return dict(self.requests)

    def _count(self, request: Request) -> None:
        with self._lock:
            self.requests[request] += 1

    def hang(self, matching: Callable[[Request], bool] = lambda request: True) -> None:
        """From now on, leave the requests `matching` picks unanswered (every request by default)."""
        self._released.clear()
        self._hanging = matching

    def release(self) -> None:
        """Answer every request again; the hung ones get their connection closed."""
        self._hanging = None
        self._released.set()

    def _hangs(self, request: Request) -> bool:
        hanging = self._hanging
        if hanging is None or not hanging(request):
            return False
        self._released.wait()
        return True

    def _server(self, service: str, target_port: int) -> _Server:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def forward(self) -> None:
                url = urlsplit(self.path)
                path = url.path.removeprefix("/devstoreaccount1").lstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if service == "table":
                    request = table_request(self.command, path, url.query, body, self.headers.get("If-Match"))
                else:
                    request = queue_request(self.command, path, url.query, body)
                proxy._count(request)
                if proxy._hangs(request):
                    self.close_connection = True
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = http.client.HTTPConnection("127.0.0.1", target_port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                finally:
                    upstream.close()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_MERGE = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = forward

        return _Server(("127.0.0.1", 0), Forward)

    def __enter__(self) -> CountingProxy:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.release()
        for server in self._servers:
            server.shutdown()
            server.server_close()
