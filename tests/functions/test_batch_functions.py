"""POST /api/invitations/batch in-process against Azurite: the storage round trips the request
itself makes for 1,000 rows, counted on the wire (retries included) by a request hook on the
app's own storage clients."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.core.pipeline import PipelineRequest

from invite_user.batches_api import create_invitation_batch, get_invitation_batch
from shared import composition
from shared.adapters.queues import INVITATION_BATCH
from shared.domain.batches import CHUNK_ROWS
from tests.azurite import Azurite
from tests.functions.conftest import call, configure, request
from tests.support import invitation_body

ROUND_TRIP_BUDGET = 20


class RoundTrips:
    """Every storage request the app's clients send (the hook runs once per try, after the retry policy)."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()

    def __call__(self, pipeline_request: PipelineRequest[Any]) -> None:
        http = pipeline_request.http_request
        path = http.url.split("?", 1)[0].rsplit("/devstoreaccount1/", 1)[-1]
        self.requests[(http.method, path.split("(", 1)[0].split("/", 1)[0])] += 1

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@pytest.fixture
def counted(azurite: Azurite, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[RoundTrips]:
    trips = RoundTrips()
    monkeypatch.setitem(composition._TABLE_RETRIES, "raw_request_hook", trips)
    queue_retries = composition._queue_retries
    monkeypatch.setattr(composition, "_queue_retries", lambda: {**queue_retries(), "raw_request_hook": trips})
    configure(
        monkeypatch,
        STORAGE=azurite.connection_string,
        OUTBOX_DIR=str(tmp_path),
        REDIRECT_ALLOWLIST="https://portal.rconnect.example",
    )
    composition.services()  # tables created once per process, before the request is counted
    with suppress(ResourceExistsError):
        composition.clients()[1].create_queue(INVITATION_BATCH)  # as after the first batch: created on first use
    trips.requests.clear()
    yield trips
    configure(monkeypatch)


def test_a_1000_row_batch_costs_at_most_20_storage_round_trips(counted: RoundTrips) -> None:
    rows = [invitation_body() for _ in range(1000)]
    response = call(
        create_invitation_batch,
        request("POST", "/api/invitations/batch", body=json.dumps(rows).encode(), headers={"Content-Type": "application/json"}),
    )
    assert response.status_code == 202, response.get_body()
    print(f"POST /api/invitations/batch, 1,000 rows: {counted.total} storage round trips {dict(counted.requests)}")
    assert counted.total <= ROUND_TRIP_BUDGET, dict(counted.requests)
    # 11 transactions (header + 1,000 rows), one message per chunk, one header update.
    assert counted.requests[("POST", "$batch")] == 11
    assert counted.requests[("POST", INVITATION_BATCH)] == 1000 // CHUNK_ROWS
    assert counted.total == 11 + 1000 // CHUNK_ROWS + 1

    batch_id = json.loads(response.get_body())["id"]
    read = call(get_invitation_batch, request("GET", f"/api/invitations/batch/{batch_id}", route_params={"id": batch_id}))
    assert read.status_code == 200, read.get_body()
    shown = json.loads(read.get_body())
    assert (shown["total"], shown["queued"], len(shown["rows"])) == (1000, 1000, 1000)
