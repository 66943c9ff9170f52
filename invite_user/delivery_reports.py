"""POST /api/events/acs: ACS e-mail delivery reports, delivered by an Event Grid webhook subscription.

Event Grid first proves the endpoint wants its events (a SubscriptionValidationEvent whose code is
echoed back as `validationResponse`), then posts batches of events in the Event Grid schema. Each
`Microsoft.Communication.EmailDeliveryReportReceived` settles the e-mail whose send id is its
`messageId` (the operation id we sent with), ordered by the report's time: a later bounce replaces
"Delivered", a repeated or older report changes nothing (Invitation.settle_email). Event Grid retries anything but a 2xx, so reports
about unknown operations, event types we do not handle, and malformed events (logged with what
is wrong) are acknowledged and ignored: only a batch that is not a JSON array is refused.
"""

import json
import logging

import azure.functions as func

from invite_user.blueprint import bp
from invite_user.event_grid import Malformed, SubscriptionValidation, read_batch, read_event
from shared import routes
from shared.composition import services
from shared.domain.models import DeliveryReport
from web.problems import api_errors

log = logging.getLogger(__name__)


@bp.route(route=routes.ACS_EVENTS, methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def acs_delivery_reports(req: func.HttpRequest) -> func.HttpResponse:
    events = [read_event(item) for item in read_batch(req.get_body())]
    for event in events:
        if isinstance(event, SubscriptionValidation):
            log.info("Event Grid subscription validated (event %s)", event.id)
            return func.HttpResponse(json.dumps({"validationResponse": event.data.validation_code}), mimetype="application/json")
    emails = services().emails
    for number, event in enumerate(events, 1):
        if isinstance(event, DeliveryReport):
            emails.settle(event)
        elif isinstance(event, Malformed):  # acknowledged: Event Grid would retry the whole batch for nothing
            log.warning("Acknowledged malformed Event Grid event %d of %d: %s", number, len(events), event.problems)
    return func.HttpResponse(status_code=200)
