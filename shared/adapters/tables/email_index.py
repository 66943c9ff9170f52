"""The invitations sent to an e-mail address, and which of them is its open one (table
InvitationsByEmail): listing by e-mail is one partition query whatever the size of the
Invitations table, and two concurrent creates for an address cannot both succeed.

PartitionKey = SHA-256 of the lower-cased address (an address may hold characters a key cannot:
/ \\ # ?). Two kinds of rows, one write per create either way:
- RowKey "open", the address's claim: the id of the invitation that holds the address and when it
  claimed it. The first insert wins; a later create takes the row over, with its ETag, only once
  the invitation it names is no longer open, so of two racing creates at most one gets the row.
  The claim is also that invitation's index entry.
- RowKey = invitation id, a pointer that never changes (an invitation's address never does): for
  an invitation created with allowDuplicate (no claim), and for a former holder, written in the
  same transaction that takes the claim over from it, so it never drops out of the list.
Rows are written before the invitation; a row whose invitation was never written (its create
failed) is skipped by the reader. The invitation row stays the one truth: the list reads it, and
it decides whether a claim's holder is still open.
"""

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import INVITATIONS_BY_EMAIL, Table
from shared.adapters.tables.invitations import decode_token, encode_token
from shared.domain.errors import AlreadyExists
from shared.services.ports import Held

CLAIM_ROW = "open"  # sorts after every invitation id (lower-case hex and dashes)


def email_key(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


def _claim(email: str, invitation_id: str, now: datetime) -> dict[str, Any]:
    return {"PartitionKey": email_key(email), "RowKey": CLAIM_ROW, "InvitationId": invitation_id, "ClaimedAt": now}


class EmailIndexStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, INVITATIONS_BY_EMAIL)

    def add(self, email: str, invitation_id: str) -> None:
        """List `invitation_id` under `email` without claiming the address (idempotent)."""
        entity = {"PartitionKey": email_key(email), "RowKey": invitation_id}
        self.table.run(lambda t: t.upsert_entity(entity), "The e-mail index")

    def claim(self, email: str, invitation_id: str, now: datetime) -> Held | None:
        """None if `invitation_id` now holds the address (and is listed under it); else who holds it."""
        try:
            self.table.insert(_claim(email, invitation_id, now), "The address's open invitation")
            return None
        except AlreadyExists:
            held: Any = self.table.run(lambda t: t.get_entity(email_key(email), CLAIM_ROW), "The address's open invitation")
        return Held(held["InvitationId"], held["ClaimedAt"], held.metadata["etag"])

    def take_over(self, email: str, invitation_id: str, now: datetime, held: Held) -> None:
        """The claim for `invitation_id` if the row is still as read (else ConcurrentUpdate); the
        former holder keeps its place in the list (one transaction: both rows or neither)."""
        former, _, etag = held
        guarded = {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified}
        operations: list[Any] = [
            ("upsert", {"PartitionKey": email_key(email), "RowKey": former}),
            ("update", _claim(email, invitation_id, now), guarded),
        ]
        self.table.run(lambda t: t.submit_transaction(operations), "The address's open invitation")

    def page(self, email: str, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        """One page of the ids of the invitations to `email` (index rows in id order, then the open
        one's claim, which sorts last) and the next page's token."""
        continuation = decode_token(token)

        def read(t: TableClient) -> tuple[list[str], str | None]:
            pages: Iterator[Any] = t.query_entities(
                "PartitionKey eq @pk",
                parameters={"pk": email_key(email)},
                results_per_page=page_size,
                select=["RowKey", "InvitationId"],
            ).by_page(continuation_token=continuation)  # type: ignore[arg-type]  # tables' tokens are dicts
            for page in pages:
                ids = [entity["InvitationId"] if entity["RowKey"] == CLAIM_ROW else entity["RowKey"] for entity in page]
                return list(dict.fromkeys(ids)), encode_token(pages.continuation_token)  # type: ignore[attr-defined]
            return [], None

        return self.table.run(read, "The e-mail index")
