"""The invitee-facing HTML pages, rendered from templates in the page's language."""

from typing import Any
from urllib.parse import quote

from shared.domain.models import Invitation
from shared.presentation.i18n import catalog, format_date
from shared.presentation.rendering import render

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


def blocked_invitation_page(kind: str, invitation: Invitation, *, welcome_url: str, customer_success_email: str) -> str:
    """The page for an invitation that can no longer be redeemed (see domain.invitations.redemption_block)."""
    actions = {
        "invitation-expired": f"mailto:{customer_success_email}?subject="
        + quote(f"New My rConnect invitation ({invitation.id})"),
        "invitation-completed": welcome_url,
    }
    return message_page(
        kind,
        invitation.language,
        action_url=actions.get(kind),
        inviter=invitation.inviter.name,
        organisation=invitation.inviter.organisation,
        expires=format_date(invitation.expires_at, invitation.language),
    )


def company_account_label(language: str, account_type: str, identity_provider: str | None) -> str:
    """How the company page names the account the invitee signed in with."""
    return catalog(CATALOG, language)[f"company.account.{account_type}"].format(provider=identity_provider or "")
