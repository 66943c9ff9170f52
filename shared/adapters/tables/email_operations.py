"""Which invitation an ACS e-mail operation belongs to (table EmailOperations), for delivery reports."""

from azure.data.tables import TableServiceClient

from shared.adapters.tables import EMAIL_OPERATIONS, Table
from shared.domain.errors import NotFound


class EmailOperationStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, EMAIL_OPERATIONS)

    def remember(self, operation_id: str, invitation_id: str) -> None:
        # An upsert of a fixed pair: a redelivered message writes the same row again.
        entity = {"PartitionKey": operation_id, "RowKey": "", "InvitationId": invitation_id}
        self.table.run(lambda t: t.upsert_entity(entity), f"E-mail operation {operation_id}")

    def invitation_of(self, operation_id: str) -> str | None:
        try:
            entity = self.table.run(lambda t: t.get_entity(operation_id, ""), f"E-mail operation {operation_id}")
        except NotFound:
            return None
        return str(entity["InvitationId"])
