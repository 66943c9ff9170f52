"""Invitations and their audit trail (table Invitations); every update guarded by the ETag."""

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import INVITATIONS, Table
from shared.domain.errors import AlreadyExists, ConcurrentUpdate, InvalidInput, NotFound
from shared.domain.models import STORED, AuditEvent, Invitation, InvitationStatus

INVITATION_ROW = "invitation"
Loaded = tuple[Invitation, str]  # the invitation and the ETag its next write must carry
Read = tuple[Invitation, str, list[AuditEvent]]  # ...and its audit trail, oldest first


def stored_invitation(data: str) -> Invitation:
    """An invitation row's Data, which this app validated before it wrote it (see models.STORED)."""
    return Invitation.model_validate_json(data, context=STORED)


def _entity(invitation: Invitation) -> dict[str, Any]:
    # The model travels as one JSON column; the columns beside it exist for filtering.
    return {
        "PartitionKey": invitation.id,
        "RowKey": INVITATION_ROW,
        "Status": invitation.status.value,
        "EmailLower": invitation.invitee.email.lower(),
        "ExpiresAt": invitation.expires_at,
        "CreatedAt": invitation.created_at,
        # Absent when nothing decided is left to carry out; the sweeper filters on it.
        "OutstandingSince": invitation.outstanding_since(),
        "ExpiryUnreported": invitation.expiry_unreported(),
        "Data": invitation.model_dump_json(),
    }


def audit_row_key(event: AuditEvent) -> str:
    """The audit row's key, known before the write (a lifecycle event's id is built from it):
    time-ordered, and two different events at the same microsecond still get two keys."""
    digest = hashlib.sha256(event.model_dump_json().encode()).hexdigest()[:8]
    return f"audit-{event.at.strftime('%Y%m%dT%H%M%S%fZ')}-{digest}"


def _audit_entity(invitation_id: str, event: AuditEvent) -> dict[str, Any]:
    return {"PartitionKey": invitation_id, "RowKey": audit_row_key(event), "Data": event.model_dump_json()}


def status_filter(status: InvitationStatus | None, now: datetime) -> tuple[str, dict[str, Any]]:
    """An OData filter for the effective status (expired is derived from ExpiresAt)."""
    open_states = "(Status eq 'pending' or Status eq 'accepted')"
    match status:
        case None:
            return "", {}
        case InvitationStatus.EXPIRED:
            return f"{open_states} and ExpiresAt le @now", {"now": now}
        case InvitationStatus.PENDING | InvitationStatus.ACCEPTED:
            return "Status eq @status and ExpiresAt gt @now", {"status": status.value, "now": now}
        case _:
            return "Status eq @status", {"status": status.value}


class InvitationStore:
    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, INVITATIONS)

    def load(self, invitation_id: str) -> Loaded:
        """The stored invitation and its ETag, or NotFound."""
        try:
            entity = self.table.run(lambda t: t.get_entity(invitation_id, INVITATION_ROW), f"Invitation {invitation_id}")
        except NotFound:
            raise NotFound(f"No invitation has the id {invitation_id}.") from None
        return stored_invitation(entity["Data"]), str(entity.metadata["etag"])

    def read(self, invitation_id: str) -> Read:
        """The invitation, its ETag and its audit trail in one partition query (the partition holds
        nothing else; audit row keys sort by time and before "invitation"), or NotFound. The trail
        starts with the `created` event the invitation row holds."""

        def query(t: TableClient) -> list[Any]:
            return list(t.query_entities("PartitionKey eq @pk", parameters={"pk": invitation_id}, select=["RowKey", "Data"]))

        entities = self.table.run(query, f"Invitation {invitation_id}")
        rows = {entity["RowKey"]: entity for entity in entities}
        row = rows.pop(INVITATION_ROW, None)
        if row is None:
            raise NotFound(f"No invitation has the id {invitation_id}.")
        invitation = stored_invitation(row["Data"])
        history = [AuditEvent.model_validate_json(rows[key]["Data"]) for key in sorted(rows) if key.startswith("audit-")]
        if invitation.creation is not None:
            history.insert(0, invitation.creation)
        return invitation, str(row.metadata["etag"]), history

    def insert(self, invitation: Invitation) -> str:
        """Write a new invitation, its `created` event inside it (one insert, no transaction: the SDK's
        multipart request costs several inserts); returns its ETag (AlreadyExists if taken)."""
        result = self.table.insert(_entity(invitation), f"Invitation {invitation.id}")
        return str(result["etag"])

    def replace(self, invitation: Invitation, etag: str, event: AuditEvent | None) -> str:
        """Write `invitation` (with its audit event, if the change is one) only if nobody changed it
        since `etag` was read (else ConcurrentUpdate); returns the new ETag."""
        guarded = {"mode": UpdateMode.REPLACE, "etag": etag, "match_condition": MatchConditions.IfNotModified}
        operations: list[Any] = [("update", _entity(invitation), guarded)]
        if event is not None:
            operations.append(("create", _audit_entity(invitation.id, event)))
        try:
            results = self.table.run(lambda t: t.submit_transaction(operations), f"Invitation {invitation.id}")
        except (AlreadyExists, NotFound) as error:
            # The audit row's random suffix collided, or the invitation was deleted: both lost a race.
            raise ConcurrentUpdate(f"Invitation {invitation.id} was changed by another request; try again.") from error
        return str(results[0]["etag"])

    def query(
        self, status: InvitationStatus | None, now: datetime, page_size: int, token: str | None
    ) -> tuple[list[Invitation], str | None]:
        """One page of invitations matching the filters, in id order, and the next page's token."""
        clauses, parameters = [f"RowKey eq '{INVITATION_ROW}'"], {}
        status_clause, status_parameters = status_filter(status, now)
        if status_clause:
            clauses.append(status_clause)
            parameters.update(status_parameters)
        continuation = decode_token(token)

        def read(t: TableClient) -> tuple[list[Invitation], str | None]:
            pages: Iterator[Any] = t.query_entities(
                " and ".join(clauses), parameters=parameters, results_per_page=page_size, select=["Data"]
            ).by_page(continuation_token=continuation)  # type: ignore[arg-type]  # tables' tokens are dicts
            # A filtered scan may hand back empty pages with a token: follow them to real results.
            for page in pages:
                items = [stored_invitation(entity["Data"]) for entity in page]
                next_token = pages.continuation_token  # type: ignore[attr-defined]
                if items or not next_token:
                    return items, encode_token(next_token)
            return [], None

        return self.table.run(read, "The invitation list")

    def sweepable(self, outstanding_before: datetime, now: datetime) -> tuple[list[Invitation], list[Invitation]]:
        """The sweeper's one scan: (invitations with an intent outstanding since before
        `outstanding_before`, open invitations past their expiry whose `expired` event is not out yet)."""

        def read(t: TableClient) -> tuple[list[Invitation], list[Invitation]]:
            entities = t.query_entities(
                # A space before ")": the SDK reads a parameter name up to the next space.
                f"RowKey eq '{INVITATION_ROW}' and (OutstandingSince lt @cutoff or ExpiryUnreported lt @now )",
                parameters={"cutoff": outstanding_before, "now": now},
                select=["Data", "OutstandingSince", "ExpiryUnreported"],
            )
            outstanding, expired = [], []
            for entity in entities:
                invitation = stored_invitation(entity["Data"])
                if entity.get("OutstandingSince") is not None and entity["OutstandingSince"] < outstanding_before:
                    outstanding.append(invitation)
                if entity.get("ExpiryUnreported") is not None and entity["ExpiryUnreported"] < now:
                    expired.append(invitation)
            return outstanding, expired

        return self.table.run(read, "Invitations to sweep")


def encode_token(token: dict[str, str] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode() if token else None


def decode_token(token: str | None) -> dict[str, str] | None:
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("continuationToken is not a token this API returned.") from None
    if not isinstance(decoded, dict) or not all(isinstance(v, str) for v in decoded.values()):
        raise InvalidInput("continuationToken is not a token this API returned.")
    return decoded
