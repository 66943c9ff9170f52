"""GET /api/openapi.json: the staff API's OpenAPI document."""

import azure.functions as func

from invite_user.blueprint import bp
from web import openapi, routes
from web.problems import api_errors


@bp.route(route=routes.OPENAPI, methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(openapi.document_json(), mimetype="application/json", charset="utf-8")
