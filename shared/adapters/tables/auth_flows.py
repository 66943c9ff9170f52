"""MSAL auth-code flows kept server-side (table AuthFlows: they hold the PKCE verifier), consumed once.

The row is the one source of the invitation a sign-in is for."""

import json
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableServiceClient
from pydantic import BaseModel

from shared.adapters.tables import AUTH_FLOWS, Table
from shared.domain.errors import ConcurrentUpdate, Gone, NotFound


class AuthFlow(BaseModel):
    state: str
    invitation_id: str
    flow: dict[str, Any]
    expires_at: datetime


class AuthFlowStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, AUTH_FLOWS)

    def save(self, flow: AuthFlow) -> None:
        entity = {
            "PartitionKey": flow.state,
            "RowKey": "",
            "InvitationId": flow.invitation_id,
            "Flow": json.dumps(flow.flow),
            "ExpiresAt": flow.expires_at,
        }
        self.table.run(lambda t: t.upsert_entity(entity), "A sign-in flow")

    def consume(self, state: str) -> AuthFlow:
        """The flow, once: claimed by an ETag-guarded update before it is deleted, because a
        delete of a missing entity succeeds silently and two callbacks could both pass it.
        Gone if it was used already or never existed (expiry is the caller's rule)."""
        used = Gone("This sign-in attempt was already completed or has expired.", code="sign-in-used")
        try:
            entity = self.table.run(lambda t: t.get_entity(state, ""), "A sign-in flow")
            if entity.get("Claimed"):
                raise used
            claim = {"PartitionKey": state, "RowKey": "", "Claimed": True}
            etag = entity.metadata["etag"]
            self.table.run(
                lambda t: t.update_entity(claim, etag=etag, match_condition=MatchConditions.IfNotModified),
                "A sign-in flow",
            )
        except (NotFound, ConcurrentUpdate):
            raise used from None
        self.table.run(lambda t: t.delete_entity(state, ""), "A sign-in flow")
        return AuthFlow(
            state=state, invitation_id=entity["InvitationId"], flow=json.loads(entity["Flow"]), expires_at=entity["ExpiresAt"]
        )
