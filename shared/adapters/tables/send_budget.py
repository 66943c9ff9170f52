"""The e-mail sending quota's counters (table EmailBudget), shared by every instance.

One partition holds a row per minute window and per hour window that has sends counted
("minute-…" / "hour-…" by the window's start, so a range query reads the windows from the current
hour on). Taking a place increments its minute and hour rows in one transaction guarded by both
ETags (or creating them), so two instances never take the same last place; the loser of a race
reads again. Past windows' rows are never read again (a few bytes each).
"""

import random
import time
from datetime import datetime
from functools import partial
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import EMAIL_BUDGET, Table
from shared.domain.errors import AlreadyExists, ConcurrentUpdate
from shared.domain.pacing import Quota, next_slot, window_start

PARTITION = "quota"
_MINUTE, _HOUR = "minute-", "hour-"
_RACES = 20  # a batch's chunk workers take places at once: a lost race costs one more read


def _key(prefix: str, start: datetime) -> str:
    return prefix + start.strftime("%Y%m%dT%H%M%S.%f")


class TableSendBudget:
    def __init__(self, service: TableServiceClient, quota: Quota) -> None:
        self.table = Table(service, EMAIL_BUDGET)
        self.quota = quota

    def reserve(self, now: datetime, *, bulk: bool) -> datetime:
        for _ in range(_RACES):
            rows = self._windows(now)
            minutes = {entity["Start"]: entity["Count"] for entity in rows.values() if entity["RowKey"].startswith(_MINUTE)}
            hours = {entity["Start"]: entity["Count"] for entity in rows.values() if entity["RowKey"].startswith(_HOUR)}
            slot = next_slot(self.quota, minutes, hours, now, bulk=bulk)
            operations = [
                _count(rows.get(_key(_MINUTE, slot.minute)), _MINUTE, slot.minute),
                _count(rows.get(_key(_HOUR, slot.hour)), _HOUR, slot.hour),
            ]
            try:
                self.table.run(partial(TableClient.submit_transaction, operations=operations), "The e-mail budget")
            except (ConcurrentUpdate, AlreadyExists):
                time.sleep(random.uniform(0, 0.05))  # another instance took a place in the same window
                continue
            return slot.at
        raise ConcurrentUpdate("The e-mail budget is contended; try again.")

    def _windows(self, now: datetime) -> dict[str, Any]:
        """The budget's rows from the current hour's window on, by RowKey."""
        hour = window_start(now, self.quota.hour)

        def read(t: TableClient) -> list[Any]:
            return list(
                t.query_entities(
                    # (the SDK substitutes @names between spaces only)
                    "PartitionKey eq @pk and ((RowKey ge @minute and RowKey lt @minutes_end ) "
                    "or (RowKey ge @hour and RowKey lt @hours_end ) )",
                    parameters={
                        "pk": PARTITION,
                        "minute": _key(_MINUTE, hour),
                        "minutes_end": _MINUTE + "~",
                        "hour": _key(_HOUR, hour),
                        "hours_end": _HOUR + "~",
                    },
                )
            )

        return {entity["RowKey"]: entity for entity in self.table.run(read, "The e-mail budget")}


def _count(row: Any | None, prefix: str, start: datetime) -> tuple[Any, ...]:
    """The transaction's operation adding one send to a window: create its row, or replace it guarded by its ETag."""
    if row is None:
        return ("create", {"PartitionKey": PARTITION, "RowKey": _key(prefix, start), "Start": start, "Count": 1})
    entity = {"PartitionKey": PARTITION, "RowKey": row["RowKey"], "Start": start, "Count": row["Count"] + 1}
    return ("update", entity, {"mode": UpdateMode.REPLACE, "etag": row.metadata["etag"], "match_condition": MatchConditions.IfNotModified})
