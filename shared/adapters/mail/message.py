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

    status: Literal["sent", "failed"]
    message_id: str | None = None
    error: str | None = None  # short and readable, fit for an operator or a UI message


class EmailSender(Protocol):
    def send(self, message: OutgoingEmail) -> SendResult:
        """Deliver `message`; delivery problems come back as `failed`, never as exceptions."""
        ...
