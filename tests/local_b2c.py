"""What the tests need to walk the local B2C's pages (tools/idp/) like a customer: a password
that meets B2C's rules, and the verification code from the e-mail it writes to the outbox."""

from __future__ import annotations

import re
from email.message import EmailMessage

from tests.support import Outbox

# 8–64 characters, 3 of 4 classes (lower, upper, digit, symbol): accepted by B2C's rules.
STRONG_PASSWORD = "Rconnect-2026"
VERIFICATION_SENDER = "no-reply@accounts.rconnect.example"  # the local B2C's IDP_MAIL_SENDER


def verification_emails(outbox: Outbox, address: str) -> list[EmailMessage]:
    """The local B2C's verification e-mails to `address`, oldest first."""
    return [message for message in outbox.messages_to(address) if VERIFICATION_SENDER in str(message["From"])]


def plain_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, message
    return str(part.get_content())


def verification_code(outbox: Outbox, address: str) -> str:
    """The 6-digit code of the latest verification e-mail to `address`."""
    emails = verification_emails(outbox, address)
    assert emails, f"no verification e-mail to {address} in {outbox.folder}"
    match = re.search(r"\b(\d{6})\b", plain_text(emails[-1]))
    assert match, plain_text(emails[-1])
    return match.group(1)
