"""The onboarding funnel's rollup and stall index (table Funnel).

Partition "days": a row per UTC day with steps (RowKey = the ISO date), its counters and histograms
as one JSON column; steps are added by a read and a write guarded by the row's ETag (or an insert),
and a lost race reads again (the service hands over the steps of concurrent requests together).
A range of days is one partition query (at most 366 rows).
Partition "stalled": a row per invitation that was opened and not signed in, or signed in and not
completed (RowKey = invitation id, Since = when it reached that stage); the row goes when it moves on,
so the partition holds the invitations in progress, never the table's history.
"""

import random
import time
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import FUNNEL, Table
from shared.domain.errors import AlreadyExists, ConcurrentUpdate, NotFound
from shared.domain.funnel import DayRollup, StallCandidate, Tally
from shared.domain.models import Inviter

DAYS, STALLED = "days", "stalled"
_RACES = 20  # every step of a day adds to one row: a lost race costs one more read


class FunnelTableStore:
    """The FunnelStore on Table Storage."""

    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, FUNNEL)

    def add(self, tallies: Sequence[Tally]) -> None:
        for day in sorted({tally.day for tally in tallies}):
            self._add_to(day, [tally for tally in tallies if tally.day == day])

    def _add_to(self, day: date, tallies: list[Tally]) -> None:
        key = day.isoformat()
        for _ in range(_RACES):
            try:
                row: Any = self.table.run(lambda t: t.get_entity(DAYS, key), "The funnel")
            except NotFound:
                row = None
            rollup = DayRollup(day=day) if row is None else DayRollup.model_validate_json(row["Data"])
            for tally in tallies:
                rollup = rollup.add(tally)
            entity = {"PartitionKey": DAYS, "RowKey": key, "Data": rollup.model_dump_json()}
            try:
                if row is None:
                    self.table.insert(entity, "The funnel")
                else:
                    guard = {"etag": row.metadata["etag"], "match_condition": MatchConditions.IfNotModified}
                    self.table.run(partial(TableClient.update_entity, entity=entity, mode=UpdateMode.REPLACE, **guard), "The funnel")
                return
            except (ConcurrentUpdate, AlreadyExists):
                time.sleep(random.uniform(0, 0.02))
        raise ConcurrentUpdate("The funnel's day row is contended.")

    def days(self, first: date, last: date) -> list[DayRollup]:
        def read(t: TableClient) -> list[Any]:
            return list(
                t.query_entities(
                    "PartitionKey eq @pk and RowKey ge @first and RowKey le @last",
                    parameters={"pk": DAYS, "first": first.isoformat(), "last": last.isoformat()},
                    select=["Data"],
                )
            )

        return [DayRollup.model_validate_json(row["Data"]) for row in self.table.run(read, "The funnel")]

    def mark_stalled(self, candidate: StallCandidate) -> None:
        entity = {
            "PartitionKey": STALLED,
            "RowKey": candidate.invitation_id,
            "Stage": candidate.stage,
            "Since": candidate.since,
            "InviteeEmail": candidate.invitee_email,
            "Inviter": candidate.inviter.model_dump_json(),
        }
        self.table.run(lambda t: t.upsert_entity(entity, UpdateMode.REPLACE), "The stall index")

    def clear_stalled(self, invitation_id: str) -> None:
        self.table.run(lambda t: t.delete_entity(STALLED, invitation_id), "The stall index")  # deleting a missing row succeeds

    def stalled(self, since_before: datetime, limit: int) -> list[StallCandidate]:
        def read(t: TableClient) -> list[Any]:
            return list(t.query_entities("PartitionKey eq @pk and Since lt @cutoff", parameters={"pk": STALLED, "cutoff": since_before}))

        rows = sorted(self.table.run(read, "The stall index"), key=lambda row: row["Since"])[:limit]
        return [
            StallCandidate(
                invitation_id=row["RowKey"],
                stage=row["Stage"],
                since=row["Since"],
                invitee_email=row["InviteeEmail"],
                inviter=Inviter.model_validate_json(row["Inviter"]),
            )
            for row in rows
        ]
