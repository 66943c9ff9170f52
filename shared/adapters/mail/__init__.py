"""Outgoing e-mail: ACS in Azure, an .eml outbox folder everywhere else (composition chooses).
Both implement shared.services.ports.EmailSender."""

from shared.adapters.mail.outbox import OutboxEmailSender, OutboxQuota

__all__ = ["OutboxEmailSender", "OutboxQuota"]
