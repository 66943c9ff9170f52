"""GET /api/Welcome: where a finished invitee lands: the company is ready, the way on to My rConnect
(PORTAL_URL, or the invitation's redirectUrl: the welcome page is never skipped) and its main pages
(WELCOME_LINKS), in the invitation's language."""

import azure.functions as func

from create_company.blueprint import bp
from shared import routes
from shared.composition import services
from shared.presentation.pages import page
from web.cookies import invitee_session
from web.pages import html_response, new_nonce, page_errors, request_language


@bp.route(route=routes.WELCOME, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@page_errors
def welcome(req: func.HttpRequest) -> func.HttpResponse:
    session = invitee_session(req)
    # The completion on the invitation names the company, whether or not the worker has written it yet.
    invitation = services().invitations.get(session.invitation_id) if session else None
    completion = invitation.completion if invitation else None
    settings = services().settings
    nonce = new_nonce()
    html = page(
        "welcome.html",
        request_language(req, invitation),
        company=completion.company.name if completion else None,
        portal_url=(invitation.redirect_url if invitation else None) or str(settings.portal_url),
        links=settings.welcome_page_links,
        # The company page's draft (see company.html) is done with once the company exists.
        draft_key=f"rconnect-draft:{invitation.id}" if completion and invitation else None,
        nonce=nonce,
    )
    return html_response(html, nonce=nonce)
