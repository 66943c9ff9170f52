"""GET /api/InviteUser?invitationId=…: the link in the e-mail sends the invitee to B2C, or explains why not.

One storage request, the invitation's point read; the sign-in's flow goes into the cookie, not a table."""

import azure.functions as func

from accept_invitation.blueprint import bp
from accept_invitation.invitation_pages import invitation_from_link, sign_in_unavailable
from shared import routes
from shared.composition import services
from shared.domain.errors import Unavailable
from web.client_budget import anonymous_budget
from web.cookies import sign_in_cookie
from web.pages import blocked_invitation_response, page_errors, redirect


@bp.route(route=routes.INVITE_USER, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@page_errors
@anonymous_budget
def open_invitation_link(req: func.HttpRequest) -> func.HttpResponse:
    invitation = invitation_from_link(req, req.params.get("invitationId"))
    if isinstance(invitation, func.HttpResponse):
        return invitation
    app = services()
    if kind := app.invitations.redemption_block(invitation):
        return blocked_invitation_response(kind, invitation)
    try:
        auth_uri, flow = app.sign_in.begin(invitation, force_login=req.params.get("prompt") == "login")
    except Unavailable as error:
        return sign_in_unavailable(invitation, error)
    return redirect(auth_uri, set_cookie=sign_in_cookie(invitation.id, flow))
