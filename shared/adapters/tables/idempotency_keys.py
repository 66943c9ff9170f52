"""Idempotency-Key claims (table IdempotencyKeys): which invitation a key and request body belong to."""

import hashlib

from azure.data.tables import TableServiceClient

from shared.adapters.tables import IDEMPOTENCY_KEYS, Table
from shared.domain.errors import AlreadyExists
from shared.services.ports import IdempotencyClaim


def key_hash(key: str) -> str:
    """The row's key: a hash, so a key's text (which may hold anything) never becomes a PartitionKey."""
    return hashlib.sha256(key.encode()).hexdigest()


class IdempotencyKeyStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, IDEMPOTENCY_KEYS)

    def claim(self, key: str, claim: IdempotencyClaim) -> tuple[IdempotencyClaim, bool]:
        """(the key's claim, whether it is this one): the first claim of a key wins."""
        partition = key_hash(key)
        entity = {"PartitionKey": partition, "RowKey": "", "RequestHash": claim.request_hash, "InvitationId": claim.invitation_id}
        try:
            self.table.insert(entity, "This Idempotency-Key")
            return claim, True
        except AlreadyExists:
            earlier = self.table.run(lambda t: t.get_entity(partition, ""), "This Idempotency-Key")
        return IdempotencyClaim(request_hash=earlier["RequestHash"], invitation_id=earlier["InvitationId"]), False
