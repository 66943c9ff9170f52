"""Event Grid's batches of ACS delivery reports, read (see invite_user/delivery_reports.py); apart
from the function so that pydantic and the models are imported on its first call, not at cold start."""

import json
from typing import Any

import azure.functions as func
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from shared.domain.models import DeliveryReport, DeliveryState
from web.problems import Problem

SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
DELIVERY_REPORT = "Microsoft.Communication.EmailDeliveryReportReceived"
MAX_BATCH_BYTES = 1024 * 1024  # Event Grid's largest batch
# ACS's delivery statuses; Expanded (a distribution list was expanded) settles nothing.
_STATES: dict[str, DeliveryState] = {
    "Delivered": "delivered",
    "Bounced": "bounced",
    "Suppressed": "suppressed",
    "Failed": "failed",
    "FilteredSpam": "failed",
    "Quarantined": "failed",
}


class EventGridEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    eventType: str
    subject: str = ""
    data: dict[str, Any]


_BATCH = TypeAdapter(list[EventGridEvent])


def parse_events(req: func.HttpRequest) -> list[EventGridEvent]:
    body = req.get_body()
    if len(body) > MAX_BATCH_BYTES:
        raise Problem(413, "Body too large", f"An event batch is at most {MAX_BATCH_BYTES} bytes.", code="body-too-large")
    try:
        return _BATCH.validate_python(json.loads(body or b"null"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValidationError):
        raise Problem(
            400, "Not an Event Grid batch", "The body must be a JSON array of Event Grid events.", code="malformed-events"
        ) from None


def delivery_report(event: EventGridEvent) -> DeliveryReport | None:
    state = _STATES.get(str(event.data.get("status")))
    operation_id = event.data.get("messageId")
    if state is None or not isinstance(operation_id, str):
        return None
    detail = (event.data.get("deliveryStatusDetails") or {}).get("statusMessage")
    return DeliveryReport(operation_id=operation_id, state=state, detail=detail if isinstance(detail, str) else None)
