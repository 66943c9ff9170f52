"""The invitee-facing HTML pages, rendered from templates in the page's language."""

from typing import Any
from urllib.parse import quote

from shared.domain.models import Invitation
from shared.presentation.i18n import catalog, format_date
from shared.presentation.rendering import render

CATALOG = "pages"


# Pages that leave the invitee without an invitation to act on also name whom to ask.
_WITH_CONTACT = frozenset({"invalid-id", "not-found", "invitation-taken"})


def message_page(
    kind: str,
    language: str,
    *,
    customer_success_url: str | None,
    action_url: str | None = None,
    variant: str | None = None,
    **params: Any,
) -> str:
    """A one-message page (error or notice): `{kind}.title`, `{kind}.text`, optional `{kind}.action`;
    a `variant` words the text and action differently (`{kind}.{variant}.text`), e.g. for another addressee."""
    t = catalog(CATALOG, language)
    keyed = f"{kind}.{variant}" if variant else kind
    action_label = t.get(f"{keyed}.action", t.get(f"{kind}.action")) if action_url else None
    return render(
        "pages/message.html",
        catalog_name=CATALOG,
        language=language,
        kind=kind,
        title=t[f"{kind}.title"].format(**params),
        text=t[f"{keyed}.text"].format(**params),
        action_label=action_label.format(**params) if action_label else None,
        action_url=action_url,
        contact_url=customer_success_url if kind in _WITH_CONTACT else None,
    )


def page(template: str, language: str, **context: Any) -> str:
    return render(f"pages/{template}", catalog_name=CATALOG, language=language, **context)


def blocked_invitation_page(kind: str, invitation: Invitation, *, welcome_url: str, customer_success_url: str) -> str:
    """The page for an invitation that can no longer be redeemed (see domain.invitations.redemption_block)."""
    variant = None
    actions = {"invitation-completed": welcome_url}
    if kind == "invitation-expired":
        # The page asks whoever its button writes to: the inviter when staff gave an address, else customer success.
        subject = quote(f"New My rConnect invitation ({invitation.id})")
        if inviter_email := invitation.inviter.email:
            variant, actions[kind] = "inviter", f"mailto:{inviter_email}?subject={subject}"
        else:
            mailto = customer_success_url.startswith("mailto:")
            actions[kind] = f"{customer_success_url}?subject={subject}" if mailto else customer_success_url
    return message_page(
        kind,
        invitation.language,
        customer_success_url=customer_success_url,
        action_url=actions.get(kind),
        variant=variant,
        inviter=invitation.inviter.name,
        organisation=invitation.inviter.organisation,
        expires=format_date(invitation.expires_at, invitation.language),
    )


def company_account_label(language: str, account_type: str, identity_provider: str | None) -> str:
    """How the company page names the account the invitee signed in with."""
    return catalog(CATALOG, language)[f"company.account.{account_type}"].format(provider=identity_provider or "")
