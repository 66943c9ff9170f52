"""The invitation e-mail a customer receives when staff invite them to My rConnect, and its one
reminder: the same e-mail (link, expiry date) with its own subject, preheader and opening; and the
notice telling the inviter what became of the invitation (INVITER_NOTIFICATIONS)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.domain.mail import OutgoingEmail
from shared.domain.models import InviterNoticeKind, Language
from shared.presentation.i18n import catalog, format_date
from shared.presentation.rendering import render

_CATALOG = "email"


@dataclass(frozen=True)
class ProductLinks:
    """What the e-mail names and links besides the invitation (PRODUCT_NAME, DOCUMENTATION_URL, customer success)."""

    product_name: str
    documentation_url: str
    customer_success_url: str  # https: or mailto:


def render_invitation_email(
    *,
    to_address: str,
    to_name: str,
    inviter_name: str,
    inviter_organisation: str,
    redeem_url: str,
    language: Language,
    custom_message: str | None,
    expires_at: datetime,
    admin_consent_help_url: str | None,
    product: ProductLinks,
    reminder: bool = False,
) -> OutgoingEmail:
    """The invitation e-mail; `admin_consent_help_url` None leaves out the admin-approval paragraph
    (the invitee's tenant consented, or their domain belongs to no work tenant)."""
    t = catalog(_CATALOG, language)
    expires_on = format_date(expires_at, language)
    subject = t["reminder_subject" if reminder else "subject"].format(
        date=expires_on, inviter=inviter_name, organisation=inviter_organisation, product=product.product_name
    )
    context = {
        "name": to_name.strip() or to_address,
        "address": to_address,
        "inviter": inviter_name,
        "organisation": inviter_organisation,
        "redeem_url": redeem_url,
        # Keep the author's line breaks; the templates render one line at a time so each is escaped.
        "message_lines": (custom_message or "").strip().splitlines(),
        "expires_on": expires_on,
        "reminder": reminder,
        "admin_consent_help_url": admin_consent_help_url,
        "product": product.product_name,
        "documentation_url": product.documentation_url,
        "customer_success_url": product.customer_success_url,
        "subject": subject,
    }
    return _email("invitation", to_address, to_name, language, context)


def render_inviter_notice(
    *,
    kind: InviterNoticeKind,
    to_address: str,
    to_name: str,
    invitee_name: str,
    invitee_address: str,
    company: str,
    language: Language,
    product: ProductLinks,
) -> OutgoingEmail:
    """The e-mail telling the inviter that their invitee completed, or the invitation bounced or expired."""
    t = catalog(_CATALOG, language)
    subject = t[f"inviter_{kind}_subject"].format(invitee=invitee_name, product=product.product_name)
    context = {
        "kind": kind,
        "name": to_name.strip() or to_address,
        "invitee": invitee_name,
        "invitee_address": invitee_address,
        "company": company,
        "product": product.product_name,
        "subject": subject,
    }
    return _email("inviter_notice", to_address, to_name, language, context)


def render_approval_email(
    *, to_address: str, to_name: str, inviter_name: str, redeem_url: str, language: Language, product: ProductLinks
) -> OutgoingEmail:
    """The short e-mail telling a pending invitee that their IT administrator approved the product."""
    t = catalog(_CATALOG, language)
    subject = t["approved_subject"].format(product=product.product_name)
    context = {
        "name": to_name.strip() or to_address,
        "inviter": inviter_name,
        "redeem_url": redeem_url,
        "product": product.product_name,
        "subject": subject,
    }
    return _email("approved", to_address, to_name, language, context)


def _email(template: str, to_address: str, to_name: str, language: Language, context: Mapping[str, object]) -> OutgoingEmail:
    """The e-mail of `template` (its .html and .txt under shared/templates/email), with the subject in `context`."""
    return OutgoingEmail(
        to_address=to_address,
        to_name=to_name,
        subject=str(context["subject"]),
        html=render(f"email/{template}.html", catalog_name=_CATALOG, language=language, **context),
        text=render(f"email/{template}.txt", catalog_name=_CATALOG, language=language, **context),
    )
