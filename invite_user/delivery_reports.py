"""POST /api/events/acs: ACS e-mail delivery reports, delivered by an Event Grid webhook subscription.

Event Grid first proves the endpoint wants its events (a SubscriptionValidationEvent whose code is
echoed back as `validationResponse`), then posts batches of events in the Event Grid schema. Each
`Microsoft.Communication.EmailDeliveryReportReceived` settles the e-mail whose send id is its
`messageId` (the operation id we sent with). Event Grid retries anything but a 2xx, so reports
about unknown operations, and event types we do not handle, are acknowledged and ignored.
"""

import json
import logging

import azure.functions as func

from invite_user.blueprint import bp
from shared import routes
from shared.composition import services
from web.problems import api_errors

log = logging.getLogger(__name__)


@bp.route(route=routes.ACS_EVENTS, methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def acs_delivery_reports(req: func.HttpRequest) -> func.HttpResponse:
    # Imported on the first call: pydantic and the models cost a cold start.
    from invite_user.event_grid import DELIVERY_REPORT, SUBSCRIPTION_VALIDATION, delivery_report, parse_events

    events = parse_events(req)
    for event in events:
        if event.eventType == SUBSCRIPTION_VALIDATION:
            code = event.data.get("validationCode")
            log.info("Event Grid subscription validated (event %s)", event.id)
            return func.HttpResponse(json.dumps({"validationResponse": code}), mimetype="application/json")
    emails = services().emails
    for event in events:
        report = delivery_report(event) if event.eventType == DELIVERY_REPORT else None
        if report is not None:
            emails.settle(report)
    return func.HttpResponse(status_code=200)
