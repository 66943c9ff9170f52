"""Outgoing e-mail: ACS in Azure, an .eml outbox folder everywhere else."""

from shared.mail.acs import AcsEmailSender
from shared.mail.invitation_email import render_invitation_email
from shared.mail.message import EmailSender, OutgoingEmail, SendResult
from shared.mail.outbox import OutboxEmailSender
from shared.settings import Settings

__all__ = [
    "AcsEmailSender",
    "EmailSender",
    "OutboxEmailSender",
    "OutgoingEmail",
    "SendResult",
    "create_sender",
    "render_invitation_email",
]


def create_sender(settings: Settings) -> EmailSender:
    if settings.acs_connection_string is not None:
        return AcsEmailSender(settings.acs_connection_string.get_secret_value(), settings.acs_sender_address)
    return OutboxEmailSender(settings.outbox_dir, settings.acs_sender_address)
