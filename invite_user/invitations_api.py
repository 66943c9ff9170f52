"""POST/GET /api/invitations and the transitions of one invitation."""

import azure.functions as func

from invite_user.blueprint import bp
from shared import routes
from shared.composition import services
from shared.domain.errors import DuplicateInvitation
from shared.domain.ids import parse_invitation_id
from shared.domain.models import InvitationRequest, ListQuery
from web.problems import Problem, api_errors, created_response, json_response, parse_body, parse_query
from web.staff_identity import staff_actor

STAFF = func.AuthLevel.FUNCTION


def _invitation_id(req: func.HttpRequest) -> str:
    return parse_invitation_id(req.route_params.get("id"))


@bp.route(route=routes.INVITATIONS, methods=["POST"], auth_level=STAFF)
@api_errors
def create_invitation(req: func.HttpRequest) -> func.HttpResponse:
    request = parse_body(req, InvitationRequest)
    key = req.headers.get("idempotency-key")
    try:
        invitation, created = services().invitations.create(request, actor=staff_actor(req), idempotency_key=key)
    except DuplicateInvitation as duplicate:
        existing = routes.path(routes.INVITATION, id=duplicate.existing_id)
        raise Problem(
            409,
            "Duplicate invitation",
            duplicate.detail,
            code=duplicate.code,
            members={"existingInvitationId": duplicate.existing_id, "existingInvitation": existing},
        ) from duplicate
    return created_response(invitation, 201, routes.path(routes.INVITATION, id=invitation.id), replayed=not created)


@bp.route(route=routes.INVITATIONS, methods=["GET"], auth_level=STAFF)
@api_errors
def list_invitations(req: func.HttpRequest) -> func.HttpResponse:
    staff_actor(req)  # a bearer token, when sent, must pass even to read
    return json_response(services().invitations.page(parse_query(req, ListQuery)))


@bp.route(route=routes.INVITATION, methods=["GET"], auth_level=STAFF)
@api_errors
def get_invitation(req: func.HttpRequest) -> func.HttpResponse:
    staff_actor(req)  # a bearer token, when sent, must pass even to read
    return json_response(services().invitations.read(_invitation_id(req)))


@bp.route(route=routes.REVOKE, methods=["POST"], auth_level=STAFF)
@api_errors
def revoke_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services().invitations.revoke(_invitation_id(req), staff_actor(req)))


@bp.route(route=routes.RESEND, methods=["POST"], auth_level=STAFF)
@api_errors
def resend_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services().invitations.resend(_invitation_id(req), staff_actor(req)))


@bp.route(route=routes.RESET, methods=["POST"], auth_level=STAFF)
@api_errors
def reset_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(services().invitations.reset(_invitation_id(req), staff_actor(req)))
