"""Invitations and their audit trail (table Invitations); every update guarded by the ETag.

The audit trail lives in the invitation row: the `created` event inside Data, every later event in
the History column (a JSON array). So a read is one point read and a step is one guarded write of
one entity, no entity-group transaction. Older events leave the row only when History would outgrow
a string property (64 KiB): they move to an archive row of the partition in the write that fills it.
"""

import base64
import binascii
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from shared.adapters.tables import INVITATIONS, Table
from shared.domain.errors import AlreadyExists, ConcurrentUpdate, InvalidInput, NotFound
from shared.domain.models import STORED, AuditEvent, Invitation, InvitationStatus
from shared.services.ports import Sweepable, Versioned

INVITATION_ROW = "invitation"
# UTF-16 code units (Azure's measure of a string property, at most 32 Ki of them), with room to spare.
HISTORY_LIMIT = 30_000
_ARCHIVE = "audit-archive-"  # archive rows, in the order written
# What a load needs: the filter columns are derived from Data, and each is a datetime the SDK would parse.
_LOADED = ["Data", "DataVersion", "History", "ArchivedHistory"]
# The layout of Data: the domain model's field names (never the API's camelCase names, so renaming what
# staff see changes no row). A change of the stored layout raises this and teaches the reader the new one.
DATA_VERSION = 1


@dataclass(frozen=True)
class Version:
    """What the next guarded write of an invitation carries (a Versioned's version): the ETag it was
    read at and the trail the row held then (the write appends to it)."""

    etag: str
    history: str  # the History column
    archived: int = 0  # archive rows holding its older events


def stored_invitation(entity: Mapping[str, Any]) -> Invitation:
    """An invitation row's Data, which this app validated before it wrote it (see models.STORED)."""
    if entity.get("DataVersion") != DATA_VERSION:
        raise ValueError(f"Invitation row of layout {entity.get('DataVersion')!r}; this app reads layout {DATA_VERSION}")
    return Invitation.model_validate_json(entity["Data"], context=STORED)


def _entity(invitation: Invitation, history: str = "[]", archived: int = 0) -> dict[str, Any]:
    # The model travels as one JSON column; the columns beside it exist for filtering, or hold the
    # audit trail (History, and how many archive rows hold its older part: ArchivedHistory).
    trail: dict[str, Any] = {"History": history}
    if archived:
        trail["ArchivedHistory"] = archived
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
        "ReminderExpiry": invitation.reminder_expiry(),
        "Data": invitation.model_dump_json(),
        "DataVersion": DATA_VERSION,
        **trail,
    }


def _version(entity: Any) -> Version:
    return Version(etag=str(entity.metadata["etag"]), history=entity["History"], archived=int(entity.get("ArchivedHistory") or 0))


def _version_of(current: Versioned) -> Version:
    if not isinstance(current.version, Version):
        raise TypeError(f"Invitation {current.invitation.id} was not read from this store")
    return current.version


def _appended(history: str, event: AuditEvent) -> str:
    events = json.loads(history)
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
    """The InvitationRepository on Table Storage."""

    def __init__(self, service: TableServiceClient) -> None:
        self.table = Table(service, INVITATIONS)

    def load(self, invitation_id: str) -> Versioned:
        """The stored invitation and its Version, or NotFound."""
        try:
            entity = self.table.run(lambda t: t.get_entity(invitation_id, INVITATION_ROW, select=_LOADED), f"Invitation {invitation_id}")
        except NotFound:
            raise NotFound(f"No invitation has the id {invitation_id}.") from None
        return Versioned(stored_invitation(entity), _version(entity))

    def read(self, invitation_id: str) -> Versioned:
        """The invitation, its Version and its audit trail: one point read, plus a query of its
        partition's archive rows for a trail that has some. The trail starts with the `created`
        event the invitation's Data holds."""
        loaded = self.load(invitation_id)
        invitation, version = loaded.invitation, _version_of(loaded)
        history = [] if invitation.creation is None else [invitation.creation]
        if version.archived:
            history.extend(self._archived(invitation_id, version.archived))
        history.extend(AuditEvent.model_validate(event) for event in json.loads(version.history))
        return Versioned(invitation, version, history)

    def _archived(self, invitation_id: str, count: int) -> list[AuditEvent]:
        """The events of the first `count` archive rows (those the version read knows of, so a later
        archiving is not read twice), in the order written."""

        def query(t: TableClient) -> list[Any]:
            return list(
                t.query_entities(
                    "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
                    parameters={"pk": invitation_id, "low": _archive_key(0), "high": _archive_key(count)},
                    select=["RowKey", "Data"],
                )
            )

        rows = sorted(self.table.run(query, f"Invitation {invitation_id}"), key=lambda row: row["RowKey"])
        return [AuditEvent.model_validate(event) for row in rows for event in json.loads(row["Data"])]

    def insert(self, invitation: Invitation) -> Versioned:
        """Write a new invitation, its `created` event inside it (one insert); AlreadyExists if taken."""
        result = self.table.insert(_entity(invitation), f"Invitation {invitation.id}")
        history = [] if invitation.creation is None else [invitation.creation]
        return Versioned(invitation, Version(etag=str(result["etag"]), history="[]"), history)

    def replace(self, current: Versioned, changed: Invitation, event: AuditEvent | None) -> Versioned:
        """Write `changed`, with `event` appended to its trail if the change is one, only if nobody
        changed it since `current` was read (else ConcurrentUpdate). One guarded update; a
        transaction only in the write that archives a full History."""
        version = _version_of(current)
        history, archived = version.history, version.archived
        archive: dict[str, Any] | None = None
        if event is not None:
            history = _appended(version.history, event)
            if _too_long(history):  # the trail so far becomes an archive row; History starts again
                archive = {"PartitionKey": changed.id, "RowKey": _archive_key(archived), "Data": version.history}
                history, archived = _appended("[]", event), archived + 1
        entity = _entity(changed, history, archived)
        condition = MatchConditions.IfNotModified

        def write(t: TableClient) -> Any:
            if archive is None:
                return t.update_entity(entity, UpdateMode.REPLACE, etag=version.etag, match_condition=condition)["etag"]
            guarded = {"mode": UpdateMode.REPLACE, "etag": version.etag, "match_condition": condition}
            return t.submit_transaction([("update", entity, guarded), ("create", archive)])[0]["etag"]

        try:
            etag = self.table.run(write, f"Invitation {changed.id}")
        except (AlreadyExists, NotFound) as error:
            # Another write archived the same trail first, or the invitation was deleted: both lost a race.
            raise ConcurrentUpdate(f"Invitation {changed.id} was changed by another request; try again.") from error
        trail = None if current.history is None else [*current.history, *([event] if event else [])]
        return Versioned(changed, Version(str(etag), history, archived), trail)

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
                " and ".join(clauses), parameters=parameters, results_per_page=page_size, select=["Data", "DataVersion"]
            ).by_page(continuation_token=continuation)  # type: ignore[arg-type]  # tables' tokens are dicts
            # A filtered scan may hand back empty pages with a token: follow them to real results.
            for page in pages:
                items = [stored_invitation(entity) for entity in page]
                next_token = pages.continuation_token  # type: ignore[attr-defined]
                if items or not next_token:
                    return items, encode_token(next_token)
            return [], None

        return self.table.run(read, "The invitation list")

    def sweepable(self, outstanding_before: datetime, now: datetime, remind_before: datetime | None = None) -> Sweepable:
        """The sweeper's one scan (see InvitationRepository.sweepable)."""
        # A space before ")" and none doubled: the SDK reads a parameter name up to the next space.
        clauses = ["OutstandingSince lt @cutoff", "ExpiryUnreported lt @now"]
        parameters: dict[str, Any] = {"cutoff": outstanding_before, "now": now}
        if remind_before is not None:
            clauses.append("(ReminderExpiry gt @now and ReminderExpiry le @remind )")
            parameters["remind"] = remind_before

        def read(t: TableClient) -> Sweepable:
            entities = t.query_entities(
                f"RowKey eq '{INVITATION_ROW}' and ({' or '.join(clauses)} )",
                parameters=parameters,
                select=["Data", "DataVersion", "OutstandingSince", "ExpiryUnreported", "ReminderExpiry"],
            )
            found = Sweepable([], [], [])
            for entity in entities:
                invitation = stored_invitation(entity)
                if entity.get("OutstandingSince") is not None and entity["OutstandingSince"] < outstanding_before:
                    found.outstanding.append(invitation)
                if entity.get("ExpiryUnreported") is not None and entity["ExpiryUnreported"] < now:
                    found.expired.append(invitation)
                if (
                    remind_before is not None
                    and entity.get("ReminderExpiry") is not None
                    and now < entity["ReminderExpiry"] <= remind_before
                ):
                    found.reminders.append(invitation)
            return found

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
