"""Delivery through Azure Communication Services (ACS) e-mail."""

import json
import logging
from typing import Any
from uuid import uuid4

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

from shared.adapters.mail.message import OutgoingEmail, SendResult

logger = logging.getLogger(__name__)

# Sends happen while a person waits for an HTTP answer: a struggling ACS must cost seconds, not minutes.
_RETRIES = 2
_MAX_RETRY_AFTER_SECONDS = 2.0


class _ShortRetryPolicy(RetryPolicy):
    """Honours Retry-After only up to a couple of seconds; a longer wait is reported as a failure instead."""

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
        polling_interval: float = 1.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        """Reached with a connection string (access key), or an endpoint and an azure-identity credential."""
        self._sender_address = sender_address
        self._confirm_timeout = confirm_timeout
        options: dict[str, Any] = {
            "retry_policy": _ShortRetryPolicy(retry_total=_RETRIES, retry_backoff_factor=0.25, retry_backoff_max=1),
            "polling_interval": polling_interval,  # the SDK's default is 30 s between status checks
            "connection_timeout": 3,
            "read_timeout": 5,
        }
        if connection_string is not None:
            self._client = EmailClient.from_connection_string(connection_string, **options)
        elif endpoint is not None and credential is not None:
            self._client = EmailClient(endpoint, credential, **options)
        else:
            raise ValueError("ACS needs a connection string, or an endpoint and a credential")

    def send(self, message: OutgoingEmail) -> SendResult:
        # Our own operation id lets ACS treat the retries of one send as one message.
        operation_id = str(uuid4())
        try:
            poller = self._client.begin_send(self._payload(message), operation_id=operation_id)
            outcome = poller.result(timeout=self._confirm_timeout)
        except AzureError as error:
            return _failed(_describe(error))
        if not poller.done():
            # ACS accepted the message but did not confirm it in time; it may still go out.
            return _failed(f"ACS did not confirm the send within {self._confirm_timeout:g} s")
        return SendResult(status="sent", message_id=(outcome or {}).get("id") or operation_id)

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


def _failed(error: str) -> SendResult:
    logger.warning("E-mail not sent: %s", error)
    return SendResult(status="failed", error=error)


def _describe(error: AzureError) -> str:
    if isinstance(error, ServiceRequestError):
        return "Could not reach ACS"
    if isinstance(error, ServiceResponseError):
        return "ACS did not answer"
    response = error.response if isinstance(error, HttpResponseError) else None
    if response is None:
        return f"ACS send failed ({type(error).__name__})"
    if response.status_code is not None and response.status_code >= 400:
        return f"ACS answered {response.status_code} {response.reason}"
    # A successful HTTP answer raised as an error: the send operation itself ended Failed or Canceled.
    try:
        body = json.loads(response.text())
    except ValueError:
        body = {}
    detail = (body.get("error") or {}).get("message")
    return f"ACS reported the send as {body.get('status', 'failed')}" + (f": {detail}" if detail else "")
