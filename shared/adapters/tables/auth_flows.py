"""MSAL auth-code flows kept server-side (table AuthFlows: they hold the PKCE verifier), consumed
once, at most a few open per invitation, and removed by a timer once expired."""

import json
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient
from pydantic import BaseModel

from shared.adapters.tables import AUTH_FLOWS, Table
from shared.domain.errors import ConcurrentUpdate, Gone, NotFound


class AuthFlow(BaseModel):
    state: str
    invitation_id: str
    flow: dict[str, Any]
    expires_at: datetime


class AuthFlowStore:
    """PartitionKey = invitation id, RowKey = OAuth state: the browser's encrypted cookie names
    both, so the callback reads one row, and the open sign-ins of an invitation are one partition."""

    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, AUTH_FLOWS)

    def save(self, flow: AuthFlow, *, keep: int, now: datetime) -> None:
        """Store a new flow, leaving at most `keep` open for its invitation: the invitation's expired
        flows and its oldest beyond the bound are removed first, so opening a link again and again
        (or a script doing it) cannot grow the table; the newest sign-ins keep working."""
        invitation_id = flow.invitation_id

        def open_flows(t: TableClient) -> list[dict[str, Any]]:
            rows = t.query_entities("PartitionKey eq @pk", parameters={"pk": invitation_id}, select=["RowKey", "ExpiresAt"])
            return sorted(rows, key=lambda row: row["ExpiresAt"])

        rows = self.table.run(open_flows, "The sign-ins of an invitation")
        live = [row for row in rows if row["ExpiresAt"] > now]
        surplus = len(live) - (keep - 1)
        for row in [row for row in rows if row["ExpiresAt"] <= now] + live[: max(surplus, 0)]:
            self._delete(invitation_id, row["RowKey"])
        entity = {
            "PartitionKey": invitation_id,
            "RowKey": flow.state,
            "InvitationId": invitation_id,
            "Flow": json.dumps(flow.flow),
            "ExpiresAt": flow.expires_at,
        }
        self.table.run(lambda t: t.upsert_entity(entity), "A sign-in flow")

    def consume(self, invitation_id: str, state: str) -> AuthFlow:
        """The flow, once: claimed by an ETag-guarded update before it is deleted, because a
        delete of a missing entity succeeds silently and two callbacks could both pass it.
        Gone if it was used already or never existed (expiry is the caller's rule)."""
        used = Gone("This sign-in attempt was already completed or has expired.", code="sign-in-used")
        try:
            entity = self.table.run(lambda t: t.get_entity(invitation_id, state), "A sign-in flow")
            if entity.get("Claimed"):
                raise used
            claim = {"PartitionKey": invitation_id, "RowKey": state, "Claimed": True}
            etag = entity.metadata["etag"]
            self.table.run(
                lambda t: t.update_entity(claim, etag=etag, match_condition=MatchConditions.IfNotModified),
                "A sign-in flow",
            )
        except (NotFound, ConcurrentUpdate):
            raise used from None
        self._delete(invitation_id, state)
        return AuthFlow(
            state=state, invitation_id=invitation_id, flow=json.loads(entity["Flow"]), expires_at=entity["ExpiresAt"]
        )

    def remove_expired(self, now: datetime) -> int:
        """Delete every flow that expired before `now` (the cleanup timer); how many went."""

        def expired(t: TableClient) -> list[dict[str, Any]]:
            return list(t.query_entities("ExpiresAt lt @now", parameters={"now": now}, select=["PartitionKey", "RowKey"]))

        rows = self.table.run(expired, "Expired sign-in flows")
        for row in rows:
            self._delete(row["PartitionKey"], row["RowKey"])
        return len(rows)

    def _delete(self, invitation_id: str, state: str) -> None:
        # Deleting a row that is already gone succeeds: another request may have removed it first.
        self.table.run(lambda t: t.delete_entity(invitation_id, state), "A sign-in flow")
