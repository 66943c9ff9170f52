"""Local delivery: each message becomes an .eml file that any mail client opens."""

import logging
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from shared.domain.mail import OutgoingEmail, SendResult

logger = logging.getLogger(__name__)


def _addressing(message: OutgoingEmail) -> bytes:
    """The To and Subject lines, encoded by hand: the email package reads a literal "=?…?=" in a
    name as an encoded word, folds long non-ASCII names into other text, and refuses non-ASCII
    mailboxes. Names and subject go whole into RFC 2047 encoded words (nothing in them can act as
    header syntax); an internationalized mailbox stays UTF-8 (RFC 6532)."""
    name = Header(message.to_name, "utf-8").encode(maxlinelen=998)
    subject = Header(message.subject, "utf-8", header_name="Subject").encode()
    return f"To: {name} <{message.to_address}>\nSubject: {subject}\n".encode()


class OutboxEmailSender:
    def __init__(
        self,
        directory: Path,
        sender_address: str,
        sender_name: str,
    ) -> None:
        self._directory = Path(directory)
        self._sender_address, self._sender_name = sender_address, sender_name

    def send(self, message: OutgoingEmail, operation_id: str) -> SendResult:
        # Like ACS, one operation id is one message: a redelivered queue message writes no second file.
        if any(self._directory.glob(f"*-{operation_id}.eml")):
            return SendResult(status="sent", operation_id=operation_id)
        now = datetime.now(UTC)
        message_id = f"<{operation_id}@{self._sender_address.rpartition('@')[2] or 'localhost'}>"
        email = EmailMessage()
        # ACS's send API takes no display name: there it is the sender username's, settable on a custom domain only.
        email["From"] = Address(self._sender_name, addr_spec=self._sender_address)
        email["Date"] = format_datetime(now)
        email["Message-ID"] = message_id
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")

        # Time first so the folder lists in sending order; the operation id makes the name unique.
        path = self._directory / f"{now:%Y%m%dT%H%M%S%fZ}-{operation_id}.eml"
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as file:
                file.write(_addressing(message) + email.as_bytes())
        except OSError as error:
            logger.warning("E-mail not written to the outbox %s: %s", self._directory, error.strerror)
            return SendResult(status="failed", error=f"Could not write to the outbox: {error.strerror}", retryable=True)
        logger.info("E-mail to the outbox: %s", path.resolve())
        return SendResult(status="sent", operation_id=operation_id)


class OutboxQuota:
    """The SendBudget of the outbox, which has no sending quota: every send may go now."""

    def reserve(self, now: datetime, *, bulk: bool) -> datetime:
        return now
