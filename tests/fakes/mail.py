"""An in-memory EmailSender, as the ACS and outbox senders (shared/adapters/mail) behave: a send is
recorded once per operation id, and a failure comes back as a `failed` SendResult, never raised.

`fail_next` scripts the next sends' failures: retryable ones (ACS down, an outbox that cannot be
written) or refusals that would repeat (ACS's 400 or 401); `throttle_next` scripts ACS's 429 with
its Retry-After. A scripted answer meets a repeated operation id too, as ACS answers whatever the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.mail import OutgoingEmail, SendResult


@dataclass(frozen=True)
class Sent:
    operation_id: str
    message: OutgoingEmail


class MemoryEmailSender:
    def __init__(self) -> None:
        self.sent: list[Sent] = []  # accepted messages, oldest first
        self.attempts = 0  # every call of send, repeats and failures included
        self._failures: list[SendResult] = []

    def fail_next(self, error: str = "ACS answered 503 Service Unavailable", *, retryable: bool = True, times: int = 1) -> None:
        self._failures.extend([SendResult(status="failed", error=error, retryable=retryable)] * times)

    def throttle_next(self, retry_after: float, *, times: int = 1) -> None:
        """The next sends are over ACS's quota (429): throttled, to be tried after `retry_after` seconds."""
        throttled = SendResult(status="throttled", error="ACS answered 429 Too Many Requests", retry_after=retry_after)
        self._failures.extend([throttled] * times)

    def reset(self) -> None:
        """Back to a healthy sender: no scripted failures left."""
        self._failures.clear()

    def send(self, message: OutgoingEmail, operation_id: str) -> SendResult:
        self.attempts += 1
        if self._failures:
            return self._failures.pop(0)
        if not any(sent.operation_id == operation_id for sent in self.sent):
            self.sent.append(Sent(operation_id, message))
        return SendResult(status="sent", operation_id=operation_id)
