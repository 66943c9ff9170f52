"""The invitation e-mail a customer receives when staff invite them to My rConnect."""

from datetime import UTC, datetime

from shared.i18n import Language, catalog
from shared.mail.message import OutgoingEmail
from shared.rendering import render

_CATALOG = "email"


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
    admin_consent_help_url: str,
    customer_success_email: str,
) -> OutgoingEmail:
    t = catalog(_CATALOG, language)
    context = {
        "name": to_name.strip() or to_address,
        "address": to_address,
        "inviter": inviter_name,
        "organisation": inviter_organisation,
        "redeem_url": redeem_url,
        # Keep the author's line breaks; the templates render one line at a time so each is escaped.
        "message_lines": (custom_message or "").strip().splitlines(),
        "expires_on": _format_date(expires_at, t),
        "admin_consent_help_url": admin_consent_help_url,
        "customer_success_email": customer_success_email,
    }
    return OutgoingEmail(
        to_address=to_address,
        to_name=to_name,
        subject=t["subject"].format(inviter=inviter_name, organisation=inviter_organisation),
        html=render("email/invitation.html", catalog_name=_CATALOG, language=language, **context),
        text=render("email/invitation.txt", catalog_name=_CATALOG, language=language, **context),
    )


def _format_date(moment: datetime, t: dict[str, str]) -> str:
    """The UTC calendar date in the catalog's style, e.g. "March 5, 2025" or "5. März 2025"."""
    # A naive datetime is taken as UTC, the convention for every timestamp this app stores.
    day = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()
    month = t["months"].split()[day.month - 1]
    return t["date_format"].format(day=day.day, month=month, year=day.year)
