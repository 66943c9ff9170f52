"""The invitee-facing HTML pages, rendered from templates in the page's language."""

from typing import Any
from urllib.parse import quote

from shared.i18n import catalog, format_date
from shared.models import Invitation
from shared.rendering import render
from shared.settings import get_settings

CATALOG = "pages"


def message_page(kind: str, language: str, *, action_url: str | None = None, **params: Any) -> str:
    """A one-message page (error or notice): `{kind}.title`, `{kind}.text`, optional `{kind}.action`."""
    t = catalog(CATALOG, language)
    action_label = t.get(f"{kind}.action") if action_url else None
    return render(
        "pages/message.html",
        catalog_name=CATALOG,
        language=language,
        kind=kind,
        title=t[f"{kind}.title"].format(**params),
        text=t[f"{kind}.text"].format(**params),
        action_label=action_label,
        action_url=action_url,
    )


def page(template: str, language: str, **context: Any) -> str:
    return render(f"pages/{template}", catalog_name=CATALOG, language=language, **context)


def blocked_invitation_page(kind: str, invitation: Invitation) -> tuple[str, int]:
    """(HTML, status) for an invitation that can no longer be redeemed (see invitations.redemption_block)."""
    settings = get_settings()
    actions = {
        "invitation-expired": f"mailto:{settings.customer_success_email}?subject="
        + quote(f"New My rConnect invitation ({invitation.id})"),
        "invitation-completed": settings.welcome_url,
    }
    html = message_page(
        kind,
        invitation.language,
        action_url=actions.get(kind),
        inviter=invitation.inviter.name,
        organisation=invitation.inviter.organisation,
        expires=format_date(invitation.expires_at, invitation.language),
    )
    return html, 200 if kind == "invitation-completed" else 410
