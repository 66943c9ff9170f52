"""POST /api/events/acs: ACS e-mail delivery reports, delivered by an Event Grid webhook subscription.

Event Grid first proves the endpoint wants its events (a SubscriptionValidationEvent whose code is
echoed back as `validationResponse`), then posts batches of events in the Event Grid schema. Each
`Microsoft.Communication.EmailDeliveryReportReceived` settles the e-mail whose send id is its
`messageId` (the operation id we sent with). Event Grid retries anything but a 2xx, so reports
about unknown operations, and event types we do not handle, are acknowledged and ignored.
"""

import json
import logging
from typing import Any

import azure.functions as func
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from invite_user.blueprint import bp
from shared.composition import services
from shared.domain.models import DeliveryReport, DeliveryState
from web import routes
from web.problems import Problem, api_errors

log = logging.getLogger(__name__)
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
    eventType: str  # noqa: N815 - the Event Grid schema's spelling
    subject: str = ""
    data: dict[str, Any]


_BATCH = TypeAdapter(list[EventGridEvent])


def _events(req: func.HttpRequest) -> list[EventGridEvent]:
    body = req.get_body()
    if len(body) > MAX_BATCH_BYTES:
        raise Problem(413, "Body too large", f"An event batch is at most {MAX_BATCH_BYTES} bytes.", code="body-too-large")
    try:
        return _BATCH.validate_python(json.loads(body or b"null"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValidationError):
        raise Problem(400, "Not an Event Grid batch", "The body must be a JSON array of Event Grid events.", code="malformed-events") from None


def _report(event: EventGridEvent) -> DeliveryReport | None:
    state = _STATES.get(str(event.data.get("status")))
    operation_id = event.data.get("messageId")
    if state is None or not isinstance(operation_id, str):
        return None
    detail = (event.data.get("deliveryStatusDetails") or {}).get("statusMessage")
    return DeliveryReport(operation_id=operation_id, state=state, detail=detail if isinstance(detail, str) else None)


@bp.route(route=routes.ACS_EVENTS, methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def acs_delivery_reports(req: func.HttpRequest) -> func.HttpResponse:
    events = _events(req)
    for event in events:
        if event.eventType == SUBSCRIPTION_VALIDATION:
            code = event.data.get("validationCode")
            log.info("Event Grid subscription validated (event %s)", event.id)
            return func.HttpResponse(json.dumps({"validationResponse": code}), mimetype="application/json")
    emails = services().emails
    for event in events:
        report = _report(event) if event.eventType == DELIVERY_REPORT else None
        if report is not None:
            emails.settle(report)
    return func.HttpResponse(status_code=200)
