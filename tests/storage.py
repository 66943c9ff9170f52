"""What the app stored in Azurite, read (and, to set up a case, rewritten) directly by the tests.

One `Stored` per stack: the `stored` fixture of conftest.py for the usual stack; a test module
with its own stack builds one with `Stored.of(that_stack)`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import ADMIN_CONSENTS, COMPANIES, IDEMPOTENCY_KEYS, INVITATIONS, USERS
from shared.adapters.tables.idempotency_keys import key_hash
from shared.adapters.tables.invitations import INVITATION_ROW
from shared.domain.events import audit_key
from shared.domain.models import AuditEvent
from tests.support import eventually
from tools.localstack.stack import LocalStack


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Stored:
    """The stack's tables: Invitations (with the audit trail), IdempotencyKeys, Companies, Users
    and AdminConsents."""

    def __init__(self, tables: TableServiceClient) -> None:
        self.tables = tables

    @classmethod
    def of(cls, stack: LocalStack) -> Stored:
        return cls(TableServiceClient.from_connection_string(stack.storage_connection_string))

    def table(self, name: str) -> TableClient:
        return self.tables.get_table_client(name)

    def partition(self, table: str, key: str) -> list[dict[str, Any]]:
        """Every row of one partition with its ETag, by row key: equal lists mean nothing was written there."""
        rows = self.table(table).query_entities("PartitionKey eq @pk", parameters={"pk": key})
        return sorted(({**row, "etag": row.metadata["etag"]} for row in rows), key=lambda row: str(row["RowKey"]))

    # -- invitations and their audit trail ---------------------------------------------------------

    def invitation(self, invitation_id: str) -> dict[str, Any]:
        """The invitation row, with its Data column parsed into `data`."""
        entity = self.table(INVITATIONS).get_entity(invitation_id, INVITATION_ROW)
        return {**entity, "data": json.loads(entity["Data"])}

    def audit(self, invitation_id: str) -> list[dict[str, Any]]:
        """The invitation's audit events, oldest first: the `created` event its Data holds, then any in
        archive rows of its partition, then its History column; every other row of its partition
        must be an archive row."""
        return list(self.audit_by_key(invitation_id).values())

    def audit_by_key(self, invitation_id: str) -> dict[str, dict[str, Any]]:
        """The audit events by the key each is published under (`audit_key`), oldest first."""
        rows = self.table(INVITATIONS).query_entities("PartitionKey eq @pk", parameters={"pk": invitation_id})
        ordered = sorted(rows, key=lambda row: row["RowKey"])
        [invitation] = [row for row in ordered if row["RowKey"] == INVITATION_ROW]
        archives = [row for row in ordered if row is not invitation]
        assert all(row["RowKey"].startswith("audit-archive-") for row in archives), [row["RowKey"] for row in archives]
        creation = json.loads(invitation["Data"]).get("creation")
        events = [creation] if creation else []
        for row in archives:
            events.extend(json.loads(row["Data"]))
        events.extend(json.loads(invitation.get("History") or "[]"))
        return {audit_key(AuditEvent.model_validate(event)): event for event in events}

    def actions(self, invitation_id: str) -> list[str]:
        return [event["action"] for event in self.audit(invitation_id)]

    def rows_for_email(self, address: str) -> list[dict[str, Any]]:
        return list(
            self.table(INVITATIONS).query_entities("RowKey eq 'invitation' and EmailLower eq @email", parameters={"email": address.lower()})
        )

    def queued_emails(self) -> int:
        """Invitations whose e-mail the queue worker has not handed over yet."""
        rows = self.table("Invitations").query_entities("RowKey eq 'invitation'", select=["Data"])
        return sum(1 for row in rows if (json.loads(row["Data"]).get("email") or {}).get("status") == "queued")

    def invitation_count(self) -> int:
        rows = self.table(INVITATIONS).query_entities("RowKey eq 'invitation'", select=["PartitionKey"])
        return sum(1 for _ in rows)

    def idempotency_row(self, key: str) -> dict[str, Any] | None:
        rows = list(self.table(IDEMPOTENCY_KEYS).query_entities("PartitionKey eq @pk", parameters={"pk": key_hash(key)}))
        assert len(rows) <= 1
        return dict(rows[0]) if rows else None

    def rewrite(self, invitation_id: str, **changes: Any) -> None:
        """Change the stored invitation directly: model fields (snake_case, as Data stores them) go
        into Data, status/expires_at also into the Status/ExpiresAt columns the list filters on."""
        client = self.table(INVITATIONS)
        entity = client.get_entity(invitation_id, INVITATION_ROW)
        data = json.loads(entity["Data"])
        for name, value in changes.items():
            data[name] = iso(value) if isinstance(value, datetime) else value
        if "status" in changes:
            entity["Status"] = changes["status"]
        if "expires_at" in changes:
            entity["ExpiresAt"] = changes["expires_at"]
        entity["Data"] = json.dumps(data)
        client.update_entity(entity, mode=UpdateMode.REPLACE)

    def expire(self, invitation_id: str) -> None:
        """Move the invitation's expiry two days into the past, in the column and in the stored model."""
        self.rewrite(invitation_id, expires_at=datetime.now(UTC) - timedelta(days=2))

    # -- what the invitee's pages store --------------------------------------------------------------

    def company_rows(self, invitation_id: str) -> list[dict[str, Any]]:
        """Every "company" row whose company came from this invitation, with Data parsed into `data`."""
        found = []
        for row in self.table(COMPANIES).query_entities("RowKey eq 'company'"):
            data = json.loads(row["Data"])
            if invitation_id in (data.get("invitation_id"), data.get("invitationId")):
                found.append({**row, "data": data})
        return found

    def company_of(self, invitation_id: str, timeout: float = 60) -> dict[str, Any]:
        """The company created from this (completed) invitation, once the company-create worker has
        written it; it writes the company and its admin membership in one transaction."""
        found = eventually(lambda: self.company_rows(invitation_id), f"the company of invitation {invitation_id}", timeout)
        [company] = found
        return company

    def members(self, company_id: str) -> list[dict[str, Any]]:
        return list(
            self.table(COMPANIES).query_entities(
                "PartitionKey eq @pk and RowKey ge 'member-' and RowKey lt 'member.'", parameters={"pk": company_id}
            )
        )

    def user(self, object_id: str) -> dict[str, Any]:
        return dict(self.table(USERS).get_entity(object_id, ""))

    def consents(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's recorded admin consents; none while no consent was ever recorded (no table yet)."""
        try:
            return list(self.table(ADMIN_CONSENTS).query_entities("PartitionKey eq @pk", parameters={"pk": tenant}))
        except ResourceNotFoundError:
            return []
