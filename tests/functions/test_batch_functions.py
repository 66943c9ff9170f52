"""Bulk invitations in-process against Azurite through the counting proxy (tests/counting_proxy.py):
the storage round trips POST /api/invitations/batch makes for 1,000 rows, a worker's per chunk, and the sweeper's
for a batch whose hand-over was lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from invite_user.batch_queue import create_batch_invitations
from invite_user.batches_api import create_invitation_batch, get_invitation_batch
from invite_user.sweeper import sweep_outstanding_intents
from shared.adapters.tables import BATCHES, INVITATIONS, INVITATIONS_BY_EMAIL
from shared.adapters.tables.batches import HEADER_ROW
from shared.domain.batches import CHUNK_ROWS
from shared.domain.funnel import FunnelQuery
from shared.queue_names import INVITATION_BATCH, INVITATION_EMAIL, INVITATION_EVENTS
from shared.wiring import Services, services
from tests.azurite import Azurite
from tests.counting_proxy import CountingProxy
from tests.functions.conftest import call, configure, request
from tests.storage import Stored
from tests.support import invitation_body

ROUND_TRIP_BUDGET = 20
ROWS = 1000


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """An Azurite of this module's own: the sweeper's round trips are counted over every row it scans,
    and the modules run before this one (in any order, under xdist) leave invitations it would sweep."""
    with Azurite(tmp_path_factory.mktemp("batch-azurite")) as running:
        yield running


@pytest.fixture(scope="module")
def counted(storage: Azurite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, CountingProxy]]:
    """The app on Azurite through the counting proxy, warmed up: tables and queues exist."""
    with CountingProxy(storage.table_port, storage.queue_port) as proxy, pytest.MonkeyPatch.context() as monkeypatch:
        configure(
            monkeypatch,
            STORAGE=proxy.connection_string,
            OUTBOX_DIR=str(tmp_path_factory.mktemp("batch-outbox")),
            REDIRECT_ALLOWLIST="https://portal.rconnect.example",
        )
        app = services()
        for queue in (INVITATION_BATCH, INVITATION_EMAIL, INVITATION_EVENTS):
            app.queues.send(queue, {"warm-up": True})
        yield app, proxy
        configure(monkeypatch)


def submit(rows: int) -> func.HttpResponse:
    body = json.dumps([invitation_body() for _ in range(rows)]).encode()
    return call(create_invitation_batch, request("POST", "/api/invitations/batch", body=body, headers={"Content-Type": "application/json"}))


def test_a_1000_row_batch_costs_at_most_20_storage_round_trips(counted: tuple[Services, CountingProxy]) -> None:
    _, proxy = counted
    proxy.reset()
    response = submit(ROWS)
    assert response.status_code == 202, response.get_body()
    counts = proxy.counts()
    print(f"POST /api/invitations/batch, {ROWS} rows: {sum(counts.values())} storage round trips {counts}")
    # The header and 1,000 rows in 11 transactions, one message per chunk, the header marked handed over.
    assert counts == {(BATCHES, "transaction"): 11, (INVITATION_BATCH, "enqueue"): ROWS // CHUNK_ROWS, (BATCHES, "upsert"): 1}
    assert sum(counts.values()) <= ROUND_TRIP_BUDGET

    batch_id = json.loads(response.get_body())["id"]
    proxy.reset()
    read = call(get_invitation_batch, request("GET", f"/api/invitations/batch/{batch_id}", route_params={"id": batch_id}))
    assert read.status_code == 200, read.get_body()
    shown = json.loads(read.get_body())
    assert (shown["total"], shown["queued"], len(shown["rows"])) == (ROWS, ROWS, ROWS)
    assert proxy.counts() == {(BATCHES, "partition-query"): 2}  # 1,001 entities: two pages of at most 1,000


def test_a_worker_reads_its_chunk_once_and_records_outcomes_per_100_rows(counted: tuple[Services, CountingProxy]) -> None:
    app, proxy = counted
    response = submit(CHUNK_ROWS)
    batch_id = json.loads(response.get_body())["id"]
    chunk = {"batchId": batch_id, "first": 0, "count": CHUNK_ROWS}
    worker = create_batch_invitations.build().get_user_function()
    created_before = app.funnel.report(FunnelQuery()).counts["created"]
    proxy.reset()
    worker(func.QueueMessage(body=json.dumps(chunk).encode()))
    app.invitations.finish_handovers()  # the rows' e-mails, handed to the queue without waiting
    # Per row exactly a single create's cost: its address's claim (which lists it under the address),
    # its insert, its e-mail message (the `created` event goes out with the e-mail worker's write).
    # Beside them the funnel's rollup: the rows' steps added together, in as many writes as timing makes.
    counts = proxy.counts()
    funnel_writes = counts.pop(("Funnel", "replace"), 0) + counts.pop(("Funnel", "insert"), 0)
    assert 1 <= funnel_writes <= CHUNK_ROWS and counts.pop(("Funnel", "point-read"), 0) >= funnel_writes, funnel_writes
    assert counts == {
        (BATCHES, "partition-query"): 1,
        (BATCHES, "transaction"): CHUNK_ROWS // 100,
        (INVITATIONS_BY_EMAIL, "insert"): CHUNK_ROWS,
        (INVITATIONS, "insert"): CHUNK_ROWS,
        (INVITATION_EMAIL, "enqueue"): CHUNK_ROWS,
    }
    assert app.batches.view(batch_id).created == CHUNK_ROWS
    assert app.funnel.report(FunnelQuery()).counts["created"] - created_before == CHUNK_ROWS  # none lost to a race

    proxy.reset()  # a redelivery: every row has its outcome, nothing is created again
    worker(func.QueueMessage(body=json.dumps(chunk).encode()))
    assert proxy.counts() == {(BATCHES, "partition-query"): 1}


def test_the_sweeper_hands_over_a_1000_row_batch_in_10_storage_round_trips(
    counted: tuple[Services, CountingProxy], storage: Azurite
) -> None:
    _, proxy = counted
    batch_id = json.loads(submit(ROWS).get_body())["id"]
    # The header as the request leaves it if it dies before the hand-over (or the queue is down), an
    # hour ago; written past the proxy.
    table = Stored(TableServiceClient.from_connection_string(storage.connection_string)).table(BATCHES)
    header = table.get_entity(batch_id, HEADER_ROW)
    data = json.loads(header["Data"]) | {"enqueued": False}
    table.upsert_entity({**header, "Data": json.dumps(data), "OutstandingSince": datetime.now(UTC) - timedelta(hours=1)})
    sweep = sweep_outstanding_intents.build().get_user_function()
    proxy.reset()
    sweep(None)
    # The two scans, the batch read (two pages) to see that every row was stored, its chunks, the header.
    assert proxy.counts() == {
        (INVITATIONS, "scan"): 1,
        (BATCHES, "scan"): 1,
        (BATCHES, "partition-query"): 2,
        (INVITATION_BATCH, "enqueue"): ROWS // CHUNK_ROWS,
        (BATCHES, "upsert"): 1,
    }
    proxy.reset()
    sweep(None)
    assert proxy.counts() == {(INVITATIONS, "scan"): 1, (BATCHES, "scan"): 1}, "handed over: no longer due"
