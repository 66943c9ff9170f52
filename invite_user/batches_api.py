"""POST /api/invitations/batch (bulk invitations, 202) and GET /api/invitations/batch/{id}."""

import uuid

import azure.functions as func

from invite_user.blueprint import bp
from invite_user.invitations_api import STAFF
from shared import routes
from shared.composition import services
from shared.domain.batches import InvalidRows, batch_id_for_key
from shared.domain.ids import parse_invitation_id
from web.batch_body import handling, read_rows
from web.problems import api_errors, created_response, invalid, json_response
from web.staff_identity import staff_actor


@bp.route(route=routes.BATCHES, methods=["POST"], auth_level=STAFF)
@api_errors
def create_invitation_batch(req: func.HttpRequest) -> func.HttpResponse:
    rows, body_hash = read_rows(req)
    mode = handling(req)
    key = req.headers.get("idempotency-key")
    batch_id = batch_id_for_key(key) if key else str(uuid.uuid4())
    try:
        batch, created = services().batches.submit(
            batch_id, rows, handling=mode, actor=staff_actor(req), request_hash=f"{mode}:{body_hash}"
        )
    except InvalidRows as error:
        raise invalid([item.model_dump() for item in error.errors], "rows") from None
    location = routes.path(routes.BATCH, id=batch.id)
    return created_response(batch, 202, location, replayed=not created, headers={"Preference-Applied": f"handling={mode}"})


@bp.route(route=routes.BATCH, methods=["GET"], auth_level=STAFF)
@api_errors
def get_invitation_batch(req: func.HttpRequest) -> func.HttpResponse:
    staff_actor(req)  # a bearer token, when sent, must pass even to read
    return json_response(services().batches.view(parse_invitation_id(req.route_params.get("id"), "batch")))
