"""Event Grid's batches of ACS delivery reports, read one event at a time (see
invite_user/delivery_reports.py); apart from the function so that pydantic and the models are
imported on its first call, not at cold start. Each event is parsed into its typed model before
any use: one that is not what its type says is `Malformed` (where and what is wrong, never its
values), so the valid events of its batch are still settled and the batch is acknowledged."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from shared.domain.ids import Uuid
from shared.domain.models import DeliveryReport, DeliveryState
from web.problems import Problem
from web.untrusted import what_is_wrong

SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
DELIVERY_REPORT = "Microsoft.Communication.EmailDeliveryReportReceived"
MAX_BATCH_BYTES = 1024 * 1024  # Event Grid's largest batch
# ACS's status message is a line; it is stored with the send (a table property holds 64 KiB), so a
# longer one keeps its beginning rather than failing the write.
MAX_DETAIL = 1000
# ACS's delivery statuses; Expanded (a distribution list was expanded) settles nothing.
_STATES: dict[str, DeliveryState] = {
    "Delivered": "delivered",
    "Bounced": "bounced",
    "Suppressed": "suppressed",
    "Failed": "failed",
    "FilteredSpam": "failed",
    "Quarantined": "failed",
}


# A time without an offset is UTC (Event Grid and ACS write UTC), so report times compare.
_Instant = Annotated[datetime, AfterValidator(lambda value: value if value.tzinfo else value.replace(tzinfo=UTC))]


class _EventGridModel(BaseModel):
    """The Event Grid schema's camelCase; fields the app does not read are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class _Envelope(_EventGridModel):
    """What every event has; its type says how its data is read."""

    id: str
    event_type: str


class _ValidationData(_EventGridModel):
    validation_code: str


class SubscriptionValidation(_Envelope):
    """Event Grid asking whether the endpoint wants its events: the answer echoes the code."""

    data: _ValidationData


class _StatusDetails(_EventGridModel):
    status_message: str | None = None


class _DeliveryReportData(_EventGridModel):
    message_id: Uuid  # the operation id we sent with (a send id); anything else cannot be ours
    status: str
    delivery_status_details: _StatusDetails | None = None
    delivery_attempt_time_stamp: _Instant | None = None


class _DeliveryReportEvent(_Envelope):
    data: _DeliveryReportData
    event_time: _Instant | None = None


@dataclass(frozen=True)
class Malformed:
    """An event that is not what its type says: where and what is wrong (never the values)."""

    problems: str


def read_batch(body: bytes) -> list[object]:
    """The batch's events, each still as it came: a batch that is not a JSON array is refused whole."""
    if len(body) > MAX_BATCH_BYTES:
        raise Problem(413, "Body too large", f"An event batch is at most {MAX_BATCH_BYTES} bytes.", code="body-too-large")
    try:
        batch = json.loads(body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        batch = None
    if not isinstance(batch, list):
        raise Problem(400, "Not an Event Grid batch", "The body must be a JSON array of Event Grid events.", code="malformed-events")
    return batch


def read_event(item: object) -> SubscriptionValidation | DeliveryReport | Malformed | None:
    """One event: a subscription validation, the delivery report it settles, None when it settles
    nothing (another event type, ACS's Expanded status), or Malformed."""
    try:
        event_type = _Envelope.model_validate(item).event_type
        if event_type == SUBSCRIPTION_VALIDATION:
            return SubscriptionValidation.model_validate(item)
        if event_type != DELIVERY_REPORT:
            return None
        report = _DeliveryReportEvent.model_validate(item)
    except ValidationError as error:
        return Malformed(what_is_wrong(error, whole="(event)"))
    data = report.data
    state = _STATES.get(data.status)
    if state is None:
        return None
    detail = data.delivery_status_details.status_message if data.delivery_status_details else None
    if detail is not None and len(detail) > MAX_DETAIL:
        detail = detail[: MAX_DETAIL - 1] + "…"
    # The report's time orders it among the send's reports: a later bounce replaces an earlier "Delivered".
    at = data.delivery_attempt_time_stamp or report.event_time
    return DeliveryReport(operation_id=data.message_id, state=state, detail=detail, at=at)
