"""Which invitation is the open one for an e-mail address (table OpenInvitations), so two
concurrent creates for the same address cannot both succeed.

PartitionKey = SHA-256 of the lower-cased address, RowKey "" : the id of the invitation that
claimed the address and when. The first insert wins; a later create takes the row over, with
its ETag, only once the invitation it names is no longer open, so of two racing creates at most
one gets the row. The invitation row stays the truth about whether it is open.
"""

import hashlib
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableServiceClient, UpdateMode

from shared.adapters.tables import OPEN_INVITATIONS, Table
from shared.domain.errors import AlreadyExists


def _partition(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


class OpenInvitationStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, OPEN_INVITATIONS)

    def claim(self, email: str, invitation_id: str, now: datetime) -> tuple[str, datetime, str] | None:
        """None if `invitation_id` now holds the address; else (holder's id, claimed at, ETag)."""
        entity = {"PartitionKey": _partition(email), "RowKey": "", "InvitationId": invitation_id, "ClaimedAt": now}
        try:
            self.table.run(lambda t: t.create_entity(entity), "The address's open invitation")
            return None
        except AlreadyExists:
            held: Any = self.table.run(lambda t: t.get_entity(_partition(email), ""), "The address's open invitation")
        return held["InvitationId"], held["ClaimedAt"], held.metadata["etag"]

    def take_over(self, email: str, invitation_id: str, now: datetime, etag: str) -> None:
        """The claim for `invitation_id`, if the row is still as read (else ConcurrentUpdate)."""
        entity = {"PartitionKey": _partition(email), "RowKey": "", "InvitationId": invitation_id, "ClaimedAt": now}
        self.table.run(
            lambda t: t.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified),
            "The address's open invitation",
        )
