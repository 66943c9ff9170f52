"""Every route template and public URL of the app, defined once.

host.json's `extensions.http.routePrefix` owns the `/api` prefix; PREFIX must equal it
(tests/unit checks). No other module spells a route: blueprints use the templates, the rest
builds URLs with `Links`. The public URLs are part of the domain's contract (the e-mail's link
never changes), so they live in shared/ beside the composition root, which hands `Links` to the
services; nothing here imports azure.functions or anything of web/.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

PREFIX = "api"

# Staff API (auth level FUNCTION)
INVITATIONS = "invitations"
INVITATION = "invitations/{id}"
REVOKE = "invitations/{id}/revoke"
RESEND = "invitations/{id}/resend"
RESET = "invitations/{id}/reset"
BATCHES = "invitations/batch"  # a literal segment: wins over invitations/{id}, as in ASP.NET routing
BATCH = "invitations/batch/{id}"
FUNNEL = "invitations/funnel"  # a literal segment too
OPENAPI = "openapi.json"

# Operations (anonymous): is this deployment configured and are its dependencies reachable?
HEALTH = "health"

# Event Grid delivers ACS's e-mail delivery reports here (auth level FUNCTION: the key is in the subscription's URL)
ACS_EVENTS = "events/acs"

# The invitee's pages (anonymous); links already in customers' inboxes use INVITE_USER: never change it.
INVITE_USER = "InviteUser"
SIGN_IN_CALLBACK = "InviteUser/callback"
CREATE_COMPANY = "CreateCompany"
WELCOME = "Welcome"
ADMIN_CONSENT = "AdminConsent"
ADMIN_CONSENT_CALLBACK = "AdminConsent/callback"

# What B2C's invitation policy reads to validate the app's id_token_hint (anonymous): its issuer is HINT.
HINT = "hint"
HINT_METADATA = "hint/.well-known/openid-configuration"
HINT_KEYS = "hint/keys"


def path(route: str, **params: str) -> str:
    """The absolute path of a route, e.g. path(INVITATION, id=...) == "/api/invitations/..."."""
    return f"/{PREFIX}/{route.format(**params)}"


@dataclass(frozen=True)
class Links:
    """Absolute URLs under PUBLIC_BASE_URL."""

    base_url: str

    def url(self, route: str, **query: str) -> str:
        return f"{self.base_url}{path(route)}" + (f"?{urlencode(query)}" if query else "")

    def redeem(self, invitation_id: str) -> str:
        # Exactly {PUBLIC_BASE_URL}/api/InviteUser?invitationId={uuid}: the e-mail's link.
        return self.url(INVITE_USER, invitationId=invitation_id)

    def admin_consent_help(self, invitation_id: str | None = None) -> str:
        return self.url(ADMIN_CONSENT, invitationId=invitation_id) if invitation_id else self.url(ADMIN_CONSENT)

    def sign_in_callback(self) -> str:
        return self.url(SIGN_IN_CALLBACK)

    def admin_consent_callback(self) -> str:
        return self.url(ADMIN_CONSENT_CALLBACK)

    def hint_issuer(self) -> str:
        return self.url(HINT)

    def hint_metadata(self) -> str:
        return self.url(HINT_METADATA)

    def hint_keys(self) -> str:
        return self.url(HINT_KEYS)

    def company_page(self) -> str:
        return self.url(CREATE_COMPANY)

    def welcome(self) -> str:
        """Where invitees land after CREATE COMPANY (unless their invitation has a redirectUrl); it links My rConnect."""
        return self.url(WELCOME)
