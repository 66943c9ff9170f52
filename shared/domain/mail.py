"""An e-mail as the product hands it to a sender, and what the sender answers."""

from typing import Literal

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

    # sent: accepted for delivery, the delivery report says the rest; throttled: over the sending
    # quota, try again after `retry_after` seconds (not a failure).
    status: Literal["sent", "throttled", "failed"]
    operation_id: str | None = None
    error: str | None = None  # short and readable, fit for an operator or a UI message
    retryable: bool = False  # a failure that a later try may not meet (an outage)
    retry_after: float | None = None  # throttled: how long the service asked to wait
