"""The storage clients share azure-core's transport: the app's timeouts, one session and connection pool."""

from __future__ import annotations

from typing import Any

from shared.composition import POOL_SIZE, TIMEOUTS, connection_string_clients

# Built without a call: the clients connect on their first request.
ACCOUNT = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
)


def _transport(client: Any) -> Any:
    return client._client._client._pipeline._transport


def test_the_table_and_queue_clients_share_one_transport_with_the_apps_timeouts() -> None:
    tables, queues = connection_string_clients(ACCOUNT)
    transport = _transport(tables)
    assert _transport(queues) is transport
    assert (transport.connection_config.timeout, transport.connection_config.read_timeout) == (
        TIMEOUTS["connection_timeout"],
        TIMEOUTS["read_timeout"],
    )
    assert transport.session.get_adapter("https://account.table.core.windows.net")._pool_maxsize == POOL_SIZE


def test_closing_one_client_leaves_the_shared_session_open() -> None:
    tables, queues = connection_string_clients(ACCOUNT)
    tables.close()
    assert _transport(queues).session is not None
