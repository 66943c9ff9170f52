"""The storage clients: one session and connection pool; tables and queues each with their timeouts and retries."""

from __future__ import annotations

from typing import Any

from shared.wiring import POOL_SIZE, QUEUE_TIMEOUTS, TABLE_TIMEOUTS, connection_string_clients

# Built without a call: the clients connect on their first request.
ACCOUNT = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
)


def _transport(client: Any) -> Any:
    return client._client._client._pipeline._transport


def _timeouts(transport: Any) -> dict[str, float]:
    return {"connection_timeout": transport.connection_config.timeout, "read_timeout": transport.connection_config.read_timeout}


def test_the_table_and_queue_clients_share_one_session_each_with_its_timeouts() -> None:
    tables, queues = connection_string_clients(ACCOUNT)
    table_transport, queue_transport = _transport(tables), _transport(queues)
    assert table_transport.session is queue_transport.session
    assert _timeouts(table_transport) == TABLE_TIMEOUTS
    assert _timeouts(queue_transport) == QUEUE_TIMEOUTS
    assert table_transport.session.get_adapter("https://account.table.core.windows.net")._pool_maxsize == POOL_SIZE


def _retry_policy(client: Any) -> Any:
    return next(policy for policy in client._client._client._pipeline._impl_policies if "Retry" in type(policy).__name__)


def test_a_hang_costs_one_table_read_timeout_and_a_queue_send_is_one_try() -> None:
    """A read error (a hang cut at the read timeout) is never retried, and no retry starts after 2 s:
    a table call gives up within the interactive budget. A queue send hands over what the sweeper
    re-sends: it is never retried on the request's time."""
    tables, queues = connection_string_clients(ACCOUNT)
    table_retry = _retry_policy(tables)
    assert (table_retry.read_retries, table_retry.timeout) == (0, 2)
    assert TABLE_TIMEOUTS["read_timeout"] <= 2
    assert _retry_policy(queues).total_retries == 0


def test_closing_one_client_leaves_the_shared_session_open() -> None:
    tables, queues = connection_string_clients(ACCOUNT)
    tables.close()
    assert _transport(queues).session is not None
