"""The invitee-facing HTML pages, rendered from templates in the page's language."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.domain.models import Invitation
from shared.presentation.i18n import catalog, format_date
from shared.presentation.rendering import render

CATALOG = "pages"


@dataclass(frozen=True)
class Contact:
    """Whom a page offers to ask: the inviter when staff gave their address, else customer success."""

    url: str  # mailto: or https:
    inviter: str | None = None


def contact_for(invitation: Invitation | None, customer_success_url: str) -> Contact:
    if invitation is not None and invitation.inviter.email:
        return Contact(f"mailto:{invitation.inviter.email}", invitation.inviter.name)
    return Contact(customer_success_url)


def _mailto(url: str, subject: str, body: str = "") -> str:
    """`url` with a subject (and body) when it is a mailto: link; other links as they are."""
    if not url.startswith("mailto:"):
        return url
    return f"{url}?subject={quote(subject)}" + (f"&body={quote(body)}" if body else "")


def message_page(
    kind: str,
    language: str,
    *,
    contact: Contact | None,
    action_url: str | None = None,
    variant: str | None = None,
    details: str | None = None,
    draft: Mapping[str, str] | None = None,
    **params: Any,
) -> str:
    """A one-message page (error or notice): `{kind}.title`, `{kind}.text`, optional `{kind}.action`;
    a `variant` words the text and action differently (`{kind}.{variant}.text`), e.g. for another addressee.
    Every page names whom to ask; `details` (a platform's raw error) is folded away for support;
    `draft` (what the invitee typed) is shown, ready to copy or send to the contact."""
    t = catalog(CATALOG, language)
    keyed = f"{kind}.{variant}" if variant else kind
    action_label = t.get(f"{keyed}.action", t.get(f"{kind}.action")) if action_url else None
    draft_text = "\n".join(f"{t['field.' + name]}: {value}" for name, value in (draft or {}).items() if value.strip())
    return render(
        "pages/message.html",
        catalog_name=CATALOG,
        language=language,
        kind=kind,
        title=t[f"{kind}.title"].format(**params),
        text=t[f"{keyed}.text"].format(**params),
        action_label=action_label.format(**params) if action_label else None,
        action_url=action_url,
        contact=contact,
        details=details,
        draft_text=draft_text,
        draft_url=_mailto(contact.url, t["draft.subject"], draft_text) if contact and draft_text else None,
    )


def provider_error_reason(code: str | None, language: str) -> str:
    """An identity platform's error code (AADB2C…, AADSTS…) as a sentence in the invitee's language."""
    t = catalog(CATALOG, language)
    return t.get(f"provider-error.{code}", t["provider-error.unknown"])


def page(template: str, language: str, **context: Any) -> str:
    return render(f"pages/{template}", catalog_name=CATALOG, language=language, **context)


def blocked_invitation_page(
    kind: str, invitation: Invitation, *, portal_url: str, customer_success_url: str, draft: Mapping[str, str] | None = None
) -> str:
    """The page for an invitation that can no longer be redeemed (see domain.invitations.redemption_block)."""
    variant = None
    # Completed: the portal's own sign-in, not the welcome page (which needs this browser's session).
    actions = {"invitation-completed": portal_url}
    if kind in ("invitation-expired", "invitation-revoked"):
        # The button writes to the inviter when staff gave an address, else customer success, for a new invitation.
        contact = contact_for(invitation, customer_success_url)
        variant = "inviter" if contact.inviter and kind == "invitation-expired" else None
        actions[kind] = _mailto(contact.url, f"New My rConnect invitation ({invitation.id})")
    return message_page(
        kind,
        invitation.language,
        contact=contact_for(invitation, customer_success_url),
        action_url=actions.get(kind),
        variant=variant,
        draft=draft,
        inviter=invitation.inviter.name,
        organisation=invitation.inviter.organisation,
        expires=format_date(invitation.expires_at, invitation.language),
    )


def company_account_label(language: str, account_type: str, identity_provider: str | None) -> str:
    """How the company page names the account the invitee signed in with."""
    return catalog(CATALOG, language)[f"company.account.{account_type}"].format(provider=identity_provider or "")
