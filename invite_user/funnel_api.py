"""GET /api/invitations/funnel?from=…&to=…: the onboarding funnel (shared/services/funnel.py)."""

import azure.functions as func

from invite_user.blueprint import bp
from shared import routes
from shared.composition import services
from shared.domain.funnel import FunnelQuery
from web.problems import api_errors, json_response, parse_query
from web.staff_identity import staff_actor


@bp.route(route=routes.FUNNEL, methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def invitation_funnel(req: func.HttpRequest) -> func.HttpResponse:
    staff_actor(req)  # a bearer token, when sent, must pass even to read
    return json_response(services().funnel.report(parse_query(req, FunnelQuery)))
