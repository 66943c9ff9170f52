"""What every sender accepts and answers."""

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, field_validator


class OutgoingEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    to_address: str
    to_name: str
    subject: str
    html: str
    text: str

    @field_validator("to_address", "to_name", "subject")
    @classmethod
    def _single_line(cls, value: str) -> str:
        # These end up in headers: a line break from user input must neither inject headers nor crash encoders.
        return " ".join(value.split())


class SendResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["sent", "failed"]  # sent: accepted for delivery; the delivery report says the rest
    operation_id: str | None = None
    error: str | None = None  # short and readable, fit for an operator or a UI message
    retryable: bool = False  # a failure that a later try may not meet (throttling, outage)


class EmailSender(Protocol):
    def send(self, message: OutgoingEmail, operation_id: str) -> SendResult:
        """Hand `message` over for delivery without waiting for it to be delivered. Sending again with
        the same `operation_id` sends nothing new. Problems come back as `failed`, never as exceptions."""
        ...
