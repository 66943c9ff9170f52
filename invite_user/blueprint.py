"""Staff API: issue and manage invitations (auth level FUNCTION)."""

import azure.functions as func

from http_common.api import api_errors, json_response, parse_body, parse_query
from shared import invitations, openapi
from shared.models import InvitationRequest, ListQuery, parse_invitation_id

bp = func.Blueprint()


def _invitation_id(req: func.HttpRequest) -> str:
    return parse_invitation_id(req.route_params.get("id"))


def _actor(req: func.HttpRequest) -> str:
    # Set by App Service Authentication when staff call through Entra ID; a bare key has no name.
    return req.headers.get("x-ms-client-principal-name") or "staff-api-key"


@bp.route(route="invitations", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def create_invitation(req: func.HttpRequest) -> func.HttpResponse:
    request = parse_body(req, InvitationRequest)
    invitations.check_redirect_allowed(request.redirect_url)
    key = req.headers.get("idempotency-key")
    invitation, created = invitations.create(request, actor=_actor(req), idempotency_key=key)
    headers = {"Location": f"/api/invitations/{invitation.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return json_response(invitation, status=201, headers=headers)


@bp.route(route="invitations", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def list_invitations(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(invitations.page(parse_query(req, ListQuery)))


@bp.route(route="invitations/{id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def get_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(invitations.view(invitations.get(_invitation_id(req))))


@bp.route(route="invitations/{id}/revoke", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def revoke_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(invitations.revoke(_invitation_id(req), _actor(req)))


@bp.route(route="invitations/{id}/resend", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def resend_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(invitations.resend(_invitation_id(req), _actor(req)))


@bp.route(route="invitations/{id}/reset", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def reset_invitation(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(invitations.reset(_invitation_id(req), _actor(req)))


@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@api_errors
def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(openapi.document_json(), mimetype="application/json", charset="utf-8")
