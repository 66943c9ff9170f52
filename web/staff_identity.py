"""Who is calling the staff API, for the audit.

The staff routes stay at auth level FUNCTION: the host lets no request through without the function
key (the CRM's credential, unchanged). On top of the key a caller may name a person:

- App Service Authentication (Easy Auth) validated the caller and set X-MS-CLIENT-PRINCIPAL-NAME.
  Only trusted when the platform says the feature is on (WEBSITE_AUTH_ENABLED=True); otherwise the
  header is whatever the caller typed and is ignored.
- An Entra ID access token (`Authorization: Bearer …`) for the staff API, validated in the app
  (shared/adapters/staff_tokens.py): signature, issuer, audience, lifetime and the app role. A token
  that fails is a 401 (403 without the role), never silently the key's anonymous actor.

With neither, the actor is the key's: "staff-api-key".
"""

import azure.functions as func

from shared.composition import services
from shared.domain.errors import TokenRejected
from web.problems import Problem

KEY_ACTOR = "staff-api-key"


def staff_actor(req: func.HttpRequest) -> str:
    """The actor of a staff request, or a 401/403 Problem for a bearer token that does not pass."""
    current = services()
    if current.settings.website_auth_enabled:
        name = req.headers.get("x-ms-client-principal-name")
        if name:
            return name
    authorization = req.headers.get("authorization")
    if not authorization:
        return KEY_ACTOR
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("The Authorization header must be 'Bearer <access token>'.")
    if current.staff_tokens is None:
        raise _unauthorized("This deployment accepts no bearer tokens (STAFF_API_AUDIENCE is not set).")

    try:
        return current.staff_tokens.validate(token.strip()).actor
    except TokenRejected as rejected:
        if rejected.missing_role:
            raise Problem(403, "Forbidden", f"The access token is valid but {rejected.reason}.", code="forbidden") from None
        raise _unauthorized(f"The access token was refused: {rejected.reason}.") from None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, code="invalid-token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
