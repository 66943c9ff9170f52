"""The HTTP transport of the app's storage clients, configured once per process.

azure-core's default `RequestsTransport` leaves `requests`' `trust_env` on, so every storage call
re-reads the environment: the proxy variables (walking all of `os.environ` twice), NO_PROXY, the
CA bundle variables and `~/.netrc`, a sizeable share of a call against a fast store. Here that is
read once instead:

- the CA bundle: REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE, else requests' default (certifi), as
  `requests` picks it, read when the transport is built;
- the proxies: `requests`' own lookup (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), once per scheme and host
  the transport talks to;
- no `.netrc`: its basic auth would replace the storage request's own Authorization header.

One connection pool per host, sized for every thread that may call storage at once (the HTTP
threads and the Python worker's pool, PYTHON_THREADPOOL_THREAD_COUNT at most 32), so no connection
is dropped and re-opened under load. Retries stay the SDK pipeline's: urllib3 retries nothing.
"""

import os
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies
from urllib3.util.retry import Retry

POOL_SIZE = 32


def ca_bundle(environ: Mapping[str, str]) -> bool | str:
    """What `requests` verifies TLS with when `trust_env` is on: the CA bundle the environment names, else its default."""
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or True


class StorageTransport(RequestsTransport):
    """A `RequestsTransport` whose session never reads the environment per request (see the module)."""

    def __init__(self, *, connection_timeout: float, read_timeout: float) -> None:
        session = requests.Session()
        session.trust_env = False
        adapter = HTTPAdapter(
            pool_connections=4,  # hosts: the table and queue endpoints
            pool_maxsize=POOL_SIZE,
            max_retries=Retry(total=False, redirect=False, raise_on_status=False),  # as azure-core mounts it
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        super().__init__(
            session=session,
            session_owner=False,  # shared by every client built on it: closing one client must not close it
            use_env_settings=False,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
            connection_verify=ca_bundle(os.environ),
        )
        self._proxies: dict[str, MutableMapping[str, str]] = {}
        self._lock = threading.Lock()

    def proxies_for(self, url: str) -> MutableMapping[str, str]:
        """The environment's proxies for `url`'s scheme and host, looked up on the first call to that host."""
        scheme, host = urlsplit(url)[:2]
        origin = f"{scheme}://{host}"
        found = self._proxies.get(origin)
        if found is None:
            with self._lock:
                found = self._proxies.setdefault(origin, get_environ_proxies(origin))
        return found

    def send(self, request: Any, *, proxies: MutableMapping[str, str] | None = None, **kwargs: Any) -> Any:
        return super().send(request, proxies=self.proxies_for(request.url) if proxies is None else proxies, **kwargs)
