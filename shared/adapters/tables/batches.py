"""Bulk invitation batches (table Batches): PartitionKey = batch id, a header row and one row per
invitation row, written in entity-group transactions of up to 100 entities.

The header row has an `OutstandingSince` column (the batch's creation time) until its rows are
handed to the queue; the sweeper's scan filters on it, so it returns only the batches still due.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import Any

from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import BATCHES, Table
from shared.domain.batches import TRANSACTION_ROWS, BatchHeader, BatchRow, RowOutcome
from shared.domain.errors import NotFound
from shared.domain.models import FieldError, InvitationRequest

HEADER_ROW = "batch"
_MERGE = {"mode": UpdateMode.MERGE}


def row_key(index: int) -> str:
    return f"row-{index:04d}"


def _header_entity(header: BatchHeader) -> dict[str, Any]:
    entity = {"PartitionKey": header.id, "RowKey": HEADER_ROW, "Data": header.model_dump_json()}
    return entity if header.enqueued else {**entity, "OutstandingSince": header.created_at}


def _row_entity(batch_id: str, row: BatchRow) -> dict[str, Any]:
    # Only what the request decided: an upsert of it (a replay finishing a batch) keeps a worker's outcome columns.
    entity: dict[str, Any] = {"PartitionKey": batch_id, "RowKey": row_key(row.index), "Index": row.index}
    if row.request is not None:
        entity["Request"] = row.request.model_dump_json(by_alias=True, exclude_none=True)
    else:
        entity["Errors"] = json.dumps([error.model_dump() for error in row.errors])
    return entity


def _row(entity: dict[str, Any]) -> BatchRow:
    request = entity.get("Request")
    return BatchRow(
        index=entity["Index"],
        request=InvitationRequest.model_validate_json(request) if request else None,
        errors=[FieldError.model_validate(error) for error in json.loads(entity.get("Errors") or "[]")],
        invitation_id=entity.get("InvitationId"),
        error=entity.get("Error"),
        email_due_at=entity.get("EmailDueAt"),
    )


def _chunks(operations: list[Any]) -> Iterable[list[Any]]:
    return (operations[start : start + TRANSACTION_ROWS] for start in range(0, len(operations), TRANSACTION_ROWS))


class BatchStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, BATCHES)

    def _submit(self, batch_id: str, operations: list[Any]) -> None:
        for chunk in _chunks(operations):
            self.table.run(partial(TableClient.submit_transaction, operations=chunk), f"Batch {batch_id}")

    def begin(self, header: BatchHeader, rows: list[BatchRow]) -> list[BatchRow]:
        """Create the header with the first 99 rows in one transaction (AlreadyExists, nothing
        written, if the batch exists); returns the rows left for `write_rows`."""
        first, rest = rows[: TRANSACTION_ROWS - 1], rows[TRANSACTION_ROWS - 1 :]
        operations = [("create", _header_entity(header))] + [("upsert", _row_entity(header.id, row), _MERGE) for row in first]
        self._submit(header.id, operations)
        return rest

    def write_rows(self, batch_id: str, rows: list[BatchRow]) -> None:
        self._submit(batch_id, [("upsert", _row_entity(batch_id, row), _MERGE) for row in rows])

    def mark_enqueued(self, header: BatchHeader) -> None:
        # A replace, not a merge: it drops OutstandingSince (a merge keeps columns it does not name).
        done = header.model_copy(update={"enqueued": True})
        self.table.run(lambda t: t.upsert_entity(_header_entity(done), mode=UpdateMode.REPLACE), f"Batch {header.id}")

    def outstanding(self, created_before: datetime) -> list[BatchHeader]:
        """The headers of the batches created before `created_before` and not handed over yet: one
        query whose filter only the outstanding headers pass (a scan of the table, answered with
        what is due, usually nothing; continuation pages only if the table outgrows one)."""

        def read(t: TableClient) -> list[BatchHeader]:
            entities = t.query_entities(
                f"RowKey eq '{HEADER_ROW}' and OutstandingSince lt @cutoff",
                parameters={"cutoff": created_before},
                select=["Data"],
            )
            return [BatchHeader.model_validate_json(entity["Data"]) for entity in entities]

        return self.table.run(read, "Batches to sweep")

    def header(self, batch_id: str) -> BatchHeader:
        try:
            entity = self.table.run(lambda t: t.get_entity(batch_id, HEADER_ROW), f"Batch {batch_id}")
        except NotFound:
            raise NotFound(f"No batch has the id {batch_id}.") from None
        return BatchHeader.model_validate_json(entity["Data"])

    def load(self, batch_id: str, first: int = 0, count: int | None = None) -> tuple[BatchHeader, list[BatchRow]]:
        """The header and the rows first .. first+count-1 (all by default), in one query."""
        last = row_key(first + count - 1) if count is not None else "row-~"

        def read(t: TableClient) -> list[dict[str, Any]]:
            return list(
                t.query_entities(
                    # (the SDK substitutes @names between spaces only)
                    "PartitionKey eq @pk and (RowKey eq @header or (RowKey ge @first and RowKey le @last ) )",
                    parameters={"pk": batch_id, "header": HEADER_ROW, "first": row_key(first), "last": last},
                )
            )

        entities = self.table.run(read, f"Batch {batch_id}")
        header = next((entity for entity in entities if entity["RowKey"] == HEADER_ROW), None)
        if header is None:
            raise NotFound(f"No batch has the id {batch_id}.")
        rows = [_row(entity) for entity in entities if entity["RowKey"] != HEADER_ROW]
        return BatchHeader.model_validate_json(header["Data"]), rows

    def record(self, batch_id: str, outcomes: list[RowOutcome]) -> None:
        """The workers' outcomes, merged into their rows (transactions of up to 100)."""
        operations = [
            (
                "upsert",
                {
                    "PartitionKey": batch_id,
                    "RowKey": row_key(outcome.index),
                    "Index": outcome.index,  # the row's own, or a row the request never stored (see BatchRow.status)
                    "InvitationId": outcome.invitation_id,
                    "Error": outcome.error,
                    "EmailDueAt": outcome.email_due_at,
                },
                _MERGE,
            )
            for outcome in outcomes
        ]
        self._submit(batch_id, operations)
