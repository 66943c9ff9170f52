"""The storage clients' transport reads the environment once, not on every storage call."""

from __future__ import annotations

import pytest
import requests.sessions
import requests.utils

from shared.adapters import transport as transport_module
from shared.adapters.transport import POOL_SIZE, StorageTransport
from shared.composition import connection_string_clients
from tests.azurite import Azurite


def test_the_ca_bundle_is_read_from_the_environment_as_requests_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    assert StorageTransport(connection_timeout=2, read_timeout=6).connection_config.verify is True
    monkeypatch.setenv("CURL_CA_BUNDLE", "/curl/ca.pem")
    assert StorageTransport(connection_timeout=2, read_timeout=6).connection_config.verify == "/curl/ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/requests/ca.pem")
    assert StorageTransport(connection_timeout=2, read_timeout=6).connection_config.verify == "/requests/ca.pem"


def test_proxies_follow_the_environment_and_no_proxy_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,.internal.example")
    transport = StorageTransport(connection_timeout=2, read_timeout=6)
    assert transport.proxies_for("https://account.table.core.windows.net/Invitations()")["https"] == "http://proxy.example:3128"
    assert transport.proxies_for("https://127.0.0.1:10002/devstoreaccount1/Tables") == {}
    assert transport.proxies_for("https://store.internal.example/x") == {}


def test_settings_the_sdk_would_take_from_the_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = StorageTransport(connection_timeout=2, read_timeout=6)
    assert transport.session is not None and transport.session.trust_env is False  # no .netrc, no per-call env lookups
    assert (transport.connection_config.timeout, transport.connection_config.read_timeout) == (2, 6)
    adapter = transport.session.get_adapter("https://x")
    assert adapter._pool_maxsize == POOL_SIZE
    assert adapter.max_retries.total is False  # the SDK's retry policy retries, not urllib3


def test_storage_calls_look_the_environment_up_once_per_host(azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []
    real = requests.utils.get_environ_proxies

    def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
        lookups.append(url)
        return real(url, no_proxy)

    monkeypatch.setattr(transport_module, "get_environ_proxies", counted)
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", counted)  # what trust_env would call per request
    netrc: list[str] = []
    monkeypatch.setattr(requests.sessions, "get_netrc_auth", lambda url, *a: netrc.append(url))
    tables, queues = connection_string_clients(azurite.connection_string)
    for _ in range(3):
        list(tables.list_tables())
        list(queues.list_queues())
    assert lookups == [f"http://127.0.0.1:{azurite.table_port}", f"http://127.0.0.1:{azurite.queue_port}"]
    assert netrc == []
