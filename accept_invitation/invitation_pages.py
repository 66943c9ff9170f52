"""Pages the features of this blueprint share: the invitation behind a link, B2C unreachable."""

from __future__ import annotations

import azure.functions as func

from shared.composition import services
from shared.domain.errors import InvalidInput, NotFound, Unavailable
from shared.domain.ids import parse_invitation_id
from shared.domain.models import Invitation
from shared.services.ports import Versioned
from web.pages import message_response, request_language, unavailable_response


def invitation_from_link(req: func.HttpRequest, raw_id: str | None) -> Invitation | func.HttpResponse:
    """The invitation a link names, or the page that says why there is none."""
    loaded = loaded_from_link(req, raw_id)
    return loaded if isinstance(loaded, func.HttpResponse) else loaded.invitation


def loaded_from_link(req: func.HttpRequest, raw_id: str | None) -> Versioned | func.HttpResponse:
    """The invitation a link names with its version (for a write), or the page that says why there is none."""
    try:
        return services().invitations.load(parse_invitation_id(raw_id))
    except InvalidInput:
        return message_response("invalid-id", request_language(req), 400)
    except NotFound:
        return message_response("not-found", request_language(req), 404)


def sign_in_unavailable(invitation: Invitation, error: Unavailable) -> func.HttpResponse:
    return unavailable_response("sign-in-unavailable", invitation.language, error, action_url=invitation.invite_redeem_url)


def sign_in_again_url(invitation: Invitation) -> str:
    # prompt=login makes B2C ask for credentials instead of reusing its session.
    return invitation.invite_redeem_url + "&prompt=login"
