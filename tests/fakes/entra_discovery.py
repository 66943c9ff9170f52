"""A loopback stand-in for Entra's discovery documents by domain (ENTRA_LOGIN_HOST points at it):
`/{domain}/v2.0/.well-known/openid-configuration` answers the issuer of the domain's tenant, 400 as
Entra does for a domain no tenant verified; a domain in `slow` answers after `delay` seconds, one
in `broken` with a 500."""

from __future__ import annotations

import threading
import time
from http.server import ThreadingHTTPServer
from types import TracebackType

from tests.fakes.http import JsonHandler

SUFFIX = "/v2.0/.well-known/openid-configuration"


class EntraDiscoveryServer:
    def __init__(self, tenants: dict[str, str], *, slow: frozenset[str] = frozenset(), broken: frozenset[str] = frozenset()) -> None:
        self.tenants, self.slow, self.broken = dict(tenants), slow, broken
        self.delay = 3.0  # beyond the adapter's read timeout
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> EntraDiscoveryServer:
        stand_in = self

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                domain = self.path.removesuffix(SUFFIX).strip("/")
                stand_in.requests.append(domain)
                if not self.path.endswith(SUFFIX):
                    self.reply(404, {"error": "not_found"})
                elif domain in stand_in.slow:
                    time.sleep(stand_in.delay)
                    self.reply(200, {"issuer": "too late"})
                elif domain in stand_in.broken:
                    self.reply(500, {"error": "server_error"})
                elif domain in stand_in.tenants:
                    self.reply(200, {"issuer": f"https://login.microsoftonline.com/{stand_in.tenants[domain]}/v2.0"})
                else:
                    self.reply(400, {"error": "invalid_tenant", "error_description": f"AADSTS90002: Tenant '{domain}' not found."})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
