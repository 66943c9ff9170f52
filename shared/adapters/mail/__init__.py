"""Outgoing e-mail: ACS in Azure, an .eml outbox folder everywhere else (composition chooses)."""

from shared.adapters.mail.message import EmailSender, OutgoingEmail, SendResult
from shared.adapters.mail.outbox import OutboxEmailSender

__all__ = ["EmailSender", "OutboxEmailSender", "OutgoingEmail", "SendResult"]
