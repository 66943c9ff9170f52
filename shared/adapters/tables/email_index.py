"""Which invitations were sent to an e-mail address (table InvitationsByEmail), so listing by
e-mail is one partition query whatever the size of the Invitations table.

PartitionKey = SHA-256 of the lower-cased address (an address may hold characters a key
cannot: / \\ # ?), RowKey = invitation id. A row is a pointer and never changes (an invitation's
address never does): it is written, idempotently, before the invitation's own transaction, so
an invitation always has its row; a row whose invitation was never written (the transaction
failed) is skipped by the reader. The invitation row stays the one truth: the list reads it.
"""

import hashlib
from collections.abc import Iterator
from typing import Any

from azure.data.tables import TableClient, TableServiceClient

from shared.adapters.tables import INVITATIONS_BY_EMAIL, Table
from shared.adapters.tables.invitations import decode_token, encode_token


def email_key(email: str) -> str:
    return hashlib.sha256(email.lower().encode()).hexdigest()


class EmailIndexStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, INVITATIONS_BY_EMAIL)

    def add(self, email: str, invitation_id: str) -> None:
        entity = {"PartitionKey": email_key(email), "RowKey": invitation_id}
        self.table.run(lambda t: t.upsert_entity(entity), "The e-mail index")

    def page(self, email: str, page_size: int, token: str | None) -> tuple[list[str], str | None]:
        """One page of the ids of the invitations to `email`, in id order, and the next page's token."""
        continuation = decode_token(token)

        def read(t: TableClient) -> tuple[list[str], str | None]:
            pages: Iterator[Any] = t.query_entities(
                "PartitionKey eq @pk", parameters={"pk": email_key(email)}, results_per_page=page_size, select=["RowKey"]
            ).by_page(continuation_token=continuation)  # type: ignore[arg-type]  # tables' tokens are dicts
            for page in pages:
                return [entity["RowKey"] for entity in page], encode_token(pages.continuation_token)  # type: ignore[attr-defined]
            return [], None

        return self.table.run(read, "The e-mail index")
