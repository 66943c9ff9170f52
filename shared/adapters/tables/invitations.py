"""Invitations and their audit trail (table Invitations); every update guarded by the ETag.

The audit trail lives in the invitation row: the `created` event inside Data, every later event in
the History column (a JSON array). So a read is one point read and a step is one guarded write of
one entity, no entity-group transaction. Older events leave the row only when History would outgrow
a string property (64 KiB): they move to an archive row of the partition in the write that fills it.
Rows written before the History column existed keep their trail in per-event audit rows.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import INVITATIONS, Table
from shared.domain.errors import AlreadyExists, ConcurrentUpdate, InvalidInput, NotFound
from shared.domain.models import STORED, AuditEvent, Invitation, InvitationStatus

INVITATION_ROW = "invitation"
# UTF-16 code units (Azure's measure of a string property, at most 32 Ki of them), with room to spare.
HISTORY_LIMIT = 30_000
_AUDIT_ROWS = ("audit-", "audit.")  # the row-key range of a partition's audit and archive rows
_ARCHIVE = "audit-archive-"  # after every per-event audit row ("audit-2…"), in the order written
# What a load needs: the filter columns are derived from Data, and each is a datetime the SDK would parse.
_LOADED = ["Data", "History", "ArchivedHistory", "LegacyAuditRows"]


@dataclass(frozen=True)
class Version:
    """What the next guarded write of an invitation carries: the ETag it was read at and the trail
    the row held then (the write appends to it)."""

    etag: str
    history: str | None  # the History column; None: a row from before it, its trail in audit rows
    archived: int = 0  # archive rows holding its older events
    legacy_rows: bool = False  # per-event audit rows from before the History column

    @property
    def has_legacy_rows(self) -> bool:
        """Whether older events are in per-event audit rows: a row from before the History column,
        or one that started its History since."""
        return self.legacy_rows or self.history is None


Loaded = tuple[Invitation, Version]  # the invitation and what its next write must carry
Read = tuple[Invitation, Version, list[AuditEvent]]  # ...and its audit trail, oldest first


def stored_invitation(data: str) -> Invitation:
    """An invitation row's Data, which this app validated before it wrote it (see models.STORED)."""
    return Invitation.model_validate_json(data, context=STORED)


def _entity(invitation: Invitation, history: str = "[]", archived: int = 0, legacy_rows: bool = False) -> dict[str, Any]:
    # The model travels as one JSON column; the columns beside it exist for filtering, or hold the
    # audit trail (History, and where older parts of it are: ArchivedHistory, LegacyAuditRows).
    trail: dict[str, Any] = {"History": history}
    if archived:
        trail["ArchivedHistory"] = archived
    if legacy_rows:
        trail["LegacyAuditRows"] = True
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
        **trail,
    }


def audit_key(event: AuditEvent) -> str:
    """An audit event's key, known before the write (its lifecycle event's id is built from it, and
    a row from before the History column has it as its RowKey): time-ordered, and two different
    events at the same microsecond still get two keys."""
    digest = hashlib.sha256(event.model_dump_json().encode()).hexdigest()[:8]
    return f"audit-{event.at.strftime('%Y%m%dT%H%M%S%fZ')}-{digest}"


def _version(entity: Any) -> Version:
    return Version(
        etag=str(entity.metadata["etag"]),
        history=entity.get("History"),
        archived=int(entity.get("ArchivedHistory") or 0),
        legacy_rows=bool(entity.get("LegacyAuditRows")),
    )


def _appended(history: str | None, event: AuditEvent) -> str:
    events = json.loads(history) if history else []
    return json.dumps([*events, json.loads(event.model_dump_json())], separators=(",", ":"), ensure_ascii=False)


def _too_long(text: str) -> bool:
    return len(text.encode("utf-16-le")) // 2 > HISTORY_LIMIT


def _archive_key(index: int) -> str:
    return f"{_ARCHIVE}{index:06d}"


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
        """The stored invitation and its Version, or NotFound."""
        try:
            entity = self.table.run(lambda t: t.get_entity(invitation_id, INVITATION_ROW, select=_LOADED), f"Invitation {invitation_id}")
        except NotFound:
            raise NotFound(f"No invitation has the id {invitation_id}.") from None
        return stored_invitation(entity["Data"]), _version(entity)

    def read(self, invitation_id: str) -> Read:
        """The invitation, its Version and its audit trail: one point read, plus a query of its
        partition's audit rows for a trail that has some (older than the History column, or
        archived). The trail starts with the `created` event the invitation's Data holds."""
        invitation, version = self.load(invitation_id)
        history = [] if invitation.creation is None else [invitation.creation]
        if version.has_legacy_rows or version.archived:
            history.extend(self._audit_rows(invitation_id, version))
        history.extend(AuditEvent.model_validate(event) for event in json.loads(version.history or "[]"))
        return invitation, version, history

    def _audit_rows(self, invitation_id: str, version: Version) -> list[AuditEvent]:
        """Events in audit rows: per-event rows (time-ordered keys) before archive rows (in the order
        written); only the archive rows `version` knows of, so a later archiving is not read twice."""
        low, high = _AUDIT_ROWS
        if version.history is not None:
            high = _archive_key(version.archived)

        def query(t: TableClient) -> list[Any]:
            return list(
                t.query_entities(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                    parameters={"pk": invitation_id, "low": low, "high": high},
                    select=["RowKey", "Data"],
                )
            )

        events: list[AuditEvent] = []
        for row in sorted(self.table.run(query, f"Invitation {invitation_id}"), key=lambda row: row["RowKey"]):
            data = json.loads(row["Data"])
            events.extend(AuditEvent.model_validate(event) for event in (data if isinstance(data, list) else [data]))
        return events

    def insert(self, invitation: Invitation) -> Version:
        """Write a new invitation, its `created` event inside it (one insert); returns its Version
        (AlreadyExists if taken)."""
        result = self.table.insert(_entity(invitation), f"Invitation {invitation.id}")
        return Version(etag=str(result["etag"]), history="[]")

    def replace(self, invitation: Invitation, version: Version, event: AuditEvent | None) -> Version:
        """Write `invitation`, with `event` appended to its trail if the change is one, only if nobody
        changed it since `version` was read (else ConcurrentUpdate); returns the new Version. One
        guarded update; a transaction only in the write that archives a full History."""
        # A row from before the History column: its first write starts one, its audit rows stay.
        legacy_rows = version.has_legacy_rows
        history, archived = version.history or "[]", version.archived
        archive: dict[str, Any] | None = None
        if event is not None:
            history = _appended(version.history, event)
            if _too_long(history):  # the trail so far becomes an archive row; History starts again
                archive = {"PartitionKey": invitation.id, "RowKey": _archive_key(archived), "Data": version.history}
                history, archived = _appended(None, event), archived + 1
        entity = _entity(invitation, history, archived, legacy_rows)
        condition = MatchConditions.IfNotModified

        def write(t: TableClient) -> Any:
            if archive is None:
                return t.update_entity(entity, UpdateMode.REPLACE, etag=version.etag, match_condition=condition)["etag"]
            guarded = {"mode": UpdateMode.REPLACE, "etag": version.etag, "match_condition": condition}
            return t.submit_transaction([("update", entity, guarded), ("create", archive)])[0]["etag"]

        try:
            etag = self.table.run(write, f"Invitation {invitation.id}")
        except (AlreadyExists, NotFound) as error:
            # Another write archived the same trail first, or the invitation was deleted: both lost a race.
            raise ConcurrentUpdate(f"Invitation {invitation.id} was changed by another request; try again.") from error
        return Version(str(etag), history, archived, legacy_rows)

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
