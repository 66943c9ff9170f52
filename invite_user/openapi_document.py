"""GET /api/openapi.json: the staff API's OpenAPI document."""

import azure.functions as func

from invite_user.blueprint import bp
from shared import routes
from web import openapi
from web.problems import api_errors
from web.staff_identity import staff_actor


@bp.route(route=routes.OPENAPI, methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    staff_actor(req)  # a bearer token, when sent, must pass here too
    return func.HttpResponse(openapi.document_json(), mimetype="application/json", charset="utf-8")
