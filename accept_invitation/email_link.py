"""GET /api/InviteUser?invitationId=…: the link in the e-mail sends the invitee on from where they are:
to B2C, or (opened again, in a second tab, after Back) to the company page, the welcome page, or the
page that says why the invitation can no longer be used.

One storage request, the invitation's point read; the sign-in's flow goes into the cookie, not a table.
The first open of a pending invitation adds one guarded write, which records it (`openedAt`, for the
onboarding funnel); a later open writes nothing. A failed write is logged: the invitee goes on."""

import logging

import azure.functions as func

from accept_invitation.blueprint import bp
from accept_invitation.invitation_pages import loaded_from_link, sign_in_unavailable
from shared import routes
from shared.composition import services
from shared.domain.errors import DomainError, Unavailable
from web.client_budget import anonymous_budget
from web.cookies import invitee_session, sign_in_cookie
from web.pages import page_errors, redirect, resume_response

log = logging.getLogger(__name__)


@bp.route(route=routes.INVITE_USER, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@page_errors
@anonymous_budget
def open_invitation_link(req: func.HttpRequest) -> func.HttpResponse:
    loaded = loaded_from_link(req, req.params.get("invitationId"))
    if isinstance(loaded, func.HttpResponse):
        return loaded
    app = services()
    invitation = loaded.invitation
    if invitation.opened_at is None:
        try:
            invitation = app.invitations.open_link(loaded)
        except DomainError as error:
            log.warning("The first open of invitation %s was not recorded (%s)", invitation.id, error)
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
