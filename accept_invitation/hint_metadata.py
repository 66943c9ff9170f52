"""GET /api/hint/.well-known/openid-configuration and /api/hint/keys: what B2C's invitation policy
reads to validate the app's id_token_hint (shared/adapters/invitation_hints.py). Anonymous, as B2C
fetches them; 404 while SIGN_IN_HINT is login_hint (no hint is signed). No per-client budget
(web/client_budget.py): B2C's servers are one client for every invitee, and the answers read no storage."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import azure.functions as func

from accept_invitation.blueprint import bp
from shared import routes
from shared.composition import published_hints
from web.problems import Problem, api_errors

if TYPE_CHECKING:
    from shared.adapters.invitation_hints import InvitationHints

# B2C caches the metadata itself; a short public cache spares the app the repeats of one sign-in.
CACHE = {"Cache-Control": "public, max-age=300"}


def _hints() -> InvitationHints:
    hints = published_hints()
    if hints is None:
        raise Problem(404, "Not found", "This deployment signs no id_token_hint (SIGN_IN_HINT is login_hint).", code="not-found")
    return hints


def _json(body: dict[str, Any]) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), mimetype="application/json", charset="utf-8", headers=CACHE)


@bp.route(route=routes.HINT_METADATA, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_errors
def hint_metadata(req: func.HttpRequest) -> func.HttpResponse:
    return _json(_hints().metadata())


@bp.route(route=routes.HINT_KEYS, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api_errors
def hint_keys(req: func.HttpRequest) -> func.HttpResponse:
    return _json(_hints().keys())
