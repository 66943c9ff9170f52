"""Delivery through Azure Communication Services (ACS) e-mail.

A send ends when ACS accepted the message (202): waiting for the operation to finish would
hold a queue worker for seconds (ACS often confirms late; its status poll can even answer 404
for an accepted send). The outcome arrives later as an Event Grid delivery report.
"""

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from azure.communication.email import EmailClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy

from shared.domain.mail import OutgoingEmail, SendResult

logger = logging.getLogger(__name__)

# A struggling ACS costs a queue worker seconds, not minutes: the queue retries the message later.
_RETRIES = 2
_MAX_RETRY_AFTER_SECONDS = 2.0
_THROTTLED = 429
_DEFAULT_RETRY_AFTER = 60.0  # a 429 without Retry-After: ACS's quota windows are a minute long


class _ShortRetryPolicy(RetryPolicy):
    """Retries a passing failure, honouring Retry-After only up to a couple of seconds. A 429 is not
    retried here: the quota is over for the window, so the send comes back as `throttled` and the
    queue puts the message off for as long as ACS asked (docs/decisions/0016-email-pacing.md)."""

    def is_retry(self, settings: dict[str, Any], response: PipelineResponse[Any, Any]) -> bool:
        return response.http_response.status_code != _THROTTLED and super().is_retry(settings, response)

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        delay = super().get_retry_after(response)
        return None if delay is None else min(delay, _MAX_RETRY_AFTER_SECONDS)


class AcsEmailSender:
    def __init__(
        self,
        sender_address: str,
        *,
        connection_string: str | None = None,
        endpoint: str | None = None,
        credential: TokenCredential | None = None,
    ) -> None:
        """Reached with a connection string (access key), or an endpoint and an azure-identity credential."""
        self._sender_address = sender_address
        options: dict[str, Any] = {
            "retry_policy": _ShortRetryPolicy(retry_total=_RETRIES, retry_backoff_factor=0.25, retry_backoff_max=1),
            "connection_timeout": 3,
            "read_timeout": 5,
        }
        if connection_string is not None:
            self._client = EmailClient.from_connection_string(connection_string, **options)
        elif endpoint is not None and credential is not None:
            self._client = EmailClient(endpoint, credential, **options)
        else:
            raise ValueError("ACS needs a connection string, or an endpoint and a credential")

    def send(self, message: OutgoingEmail, operation_id: str) -> SendResult:
        # ACS treats a repeated Operation-Id as the same send, so a retried message is one e-mail.
        # polling=False: no status polls, no poller thread; accepted is all this call learns.
        try:
            self._client.begin_send(self._payload(message), operation_id=operation_id, polling=False)
        except AzureError as error:
            return _failed(error)
        return SendResult(status="sent", operation_id=operation_id)

    def _payload(self, message: OutgoingEmail) -> dict[str, Any]:
        return {
            "senderAddress": self._sender_address,
            "recipients": {"to": [_recipient(message)]},
            "content": {"subject": message.subject, "plainText": message.text, "html": message.html},
        }


def _recipient(message: OutgoingEmail) -> dict[str, str]:
    recipient = {"address": message.to_address}
    if message.to_name:
        recipient["displayName"] = message.to_name
    return recipient


def _failed(error: AzureError) -> SendResult:
    response = error.response if isinstance(error, HttpResponseError) else None
    if response is not None and response.status_code == _THROTTLED:
        wait = _retry_after(response.headers)  # type: ignore[attr-defined]  # every transport's response has them
        logger.info("E-mail throttled by ACS: try again in %.1f s", wait)
        return SendResult(status="throttled", error=f"ACS answered {_THROTTLED} {response.reason}", retry_after=wait)
    description, retryable = _describe(error)
    logger.warning("E-mail not sent: %s", description)
    return SendResult(status="failed", error=description, retryable=retryable)


def _retry_after(headers: Mapping[str, str]) -> float:
    """Seconds to wait, from retry-after-ms, x-ms-retry-after-ms or Retry-After (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 1000.0), ("x-ms-retry-after-ms", 1000.0), ("Retry-After", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / scale)
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                continue
    return _DEFAULT_RETRY_AFTER


def _describe(error: AzureError) -> tuple[str, bool]:
    """A readable reason, and whether trying again later may succeed."""
    if isinstance(error, ServiceRequestError):
        return "Could not reach ACS", True
    if isinstance(error, ServiceResponseError):
        return "ACS did not answer", True
    response = error.response if isinstance(error, HttpResponseError) else None
    if response is None or response.status_code is None:
        return f"ACS send failed ({type(error).__name__})", True
    status = response.status_code
    # A timeout and server errors pass; any other refusal (bad key, bad request) will repeat.
    return f"ACS answered {status} {response.reason}", status == 408 or status >= 500
