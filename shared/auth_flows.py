"""MSAL auth-code flows kept server-side (they hold the PKCE verifier), consumed once."""

import json
from datetime import timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

from shared.clock import utcnow
from shared.errors import Gone
from shared.sessions import SIGN_IN_MAX_AGE_SECONDS
from shared.storage import AUTH_FLOWS, table


def save(flow: dict[str, Any], invitation_id: str) -> None:
    table(AUTH_FLOWS).upsert_entity(
        {
            "PartitionKey": flow["state"],
            "RowKey": "",
            "InvitationId": invitation_id,
            "Flow": json.dumps(flow),
            "ExpiresAt": utcnow() + timedelta(seconds=SIGN_IN_MAX_AGE_SECONDS),
        }
    )


def consume(state: str) -> tuple[dict[str, Any], str]:
    """(flow, invitation id). Claimed by an ETag-guarded update before it is deleted, because
    a delete of a missing entity succeeds silently and two callbacks could both pass it."""
    flows = table(AUTH_FLOWS)
    try:
        entity = flows.get_entity(state, "")
        if entity.get("Claimed"):
            raise ResourceModifiedError("claimed by another callback")
        flows.update_entity(
            {"PartitionKey": state, "RowKey": "", "Claimed": True},
            etag=entity.metadata["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
    except (ResourceNotFoundError, ResourceModifiedError):
        raise Gone("This sign-in attempt was already completed or has expired.", code="sign-in-used") from None
    flows.delete_entity(state, "")
    if entity["ExpiresAt"] <= utcnow():
        raise Gone("This sign-in attempt has expired.", code="sign-in-expired")
    return json.loads(entity["Flow"]), entity["InvitationId"]
