"""Idempotency-Key claims (table IdempotencyKeys): which invitation a key and request body belong to."""

from azure.data.tables import TableServiceClient
from pydantic import BaseModel

from shared.adapters.tables import IDEMPOTENCY_KEYS, Table
from shared.domain.errors import AlreadyExists


class Claim(BaseModel):
    request_hash: str
    invitation_id: str


class IdempotencyKeyStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, IDEMPOTENCY_KEYS)

    def claim(self, key_hash: str, claim: Claim) -> tuple[Claim, bool]:
        """(the key's claim, whether it is this one): the first claim of a key wins."""
        entity = {"PartitionKey": key_hash, "RowKey": "", "RequestHash": claim.request_hash, "InvitationId": claim.invitation_id}
        try:
            self.table.run(lambda t: t.create_entity(entity), "This Idempotency-Key")
            return claim, True
        except AlreadyExists:
            earlier = self.table.run(lambda t: t.get_entity(key_hash, ""), "This Idempotency-Key")
        return Claim(request_hash=earlier["RequestHash"], invitation_id=earlier["InvitationId"]), False
