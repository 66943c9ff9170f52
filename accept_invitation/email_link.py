"""GET /api/InviteUser?invitationId=…: the link in the e-mail sends the invitee on from where they are:
to B2C, or (opened again, in a second tab, after Back) to the company page, the welcome page, or the
page that says why the invitation can no longer be used.

One storage request, the invitation's point read; the sign-in's flow goes into the cookie, not a table."""

import azure.functions as func

from accept_invitation.blueprint import bp
from accept_invitation.invitation_pages import invitation_from_link, sign_in_unavailable
from shared import routes
from shared.composition import services
from shared.domain.errors import Unavailable
from web.client_budget import anonymous_budget
from web.cookies import invitee_session, sign_in_cookie
from web.pages import page_errors, redirect, resume_response


@bp.route(route=routes.INVITE_USER, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@page_errors
@anonymous_budget
def open_invitation_link(req: func.HttpRequest) -> func.HttpResponse:
    invitation = invitation_from_link(req, req.params.get("invitationId"))
    if isinstance(invitation, func.HttpResponse):
        return invitation
    app = services()
    force_login = req.params.get("prompt") == "login"  # "sign in with another account": this browser's session does not count
    session = None if force_login else invitee_session(req)
    signed_in = session.user if session and session.invitation_id == invitation.id else None
    step = app.invitations.resume_step(invitation, signed_in)
    if step != "sign-in":
        return resume_response(step, invitation)
    try:
        auth_uri, flow = app.sign_in.begin(invitation, force_login=force_login)
    except Unavailable as error:
        return sign_in_unavailable(invitation, error)
    return redirect(auth_uri, set_cookie=sign_in_cookie(invitation.id, flow))
