"""A loopback stand-in for the Azure Communication Services e-mail REST API.

It speaks only HTTPS: the SDK rebuilds the endpoint from the connection string's host and always
prefixes https://. The fake serves a throwaway certificate from a trustme CA; clients trust the CA through
`REQUESTS_CA_BUNDLE=fake.ca_file` (azure-core's requests transport reads that variable per request).
Requests are authenticated exactly as ACS does (HMAC-SHA256 over verb, path, date, host and body
hash), so a wrong access key or a tampered body gets 401.

Faults seen from real ACS can be caused on demand: failing sends, a send that hangs before ACS
answers, an operation that stays Running for seconds, a status poll answered 404. Like ACS, it can
enforce a sending quota (`enforce_quota`: at most n new messages in any window of s seconds, time
scaled down for tests), answering 429 with Retry-After (and retry-after-ms) until the window has room. Like ACS with an
Event Grid subscription, the fake posts `Microsoft.Communication.EmailDeliveryReportReceived`
events to a webhook, after Event Grid's subscription validation handshake.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import requests
import trustme

from tests.fakes.http import JsonHandler

_SEND_PATH = "/emails:send"
_OPERATIONS_PATH = "/emails/operations/"
_MAX_CLOCK_SKEW = timedelta(minutes=15)  # ACS rejects requests whose x-ms-date is further off
DELIVERY_REPORT = "Microsoft.Communication.EmailDeliveryReportReceived"
SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"


@dataclass(frozen=True)
class Delivery:
    """One message ACS accepted: the operation id (the client's Operation-Id) and the posted JSON."""

    operation_id: str
    message: dict[str, Any]

    @property
    def recipients(self) -> list[str]:
        return [to["address"].lower() for to in self.message["recipients"]["to"]]


class AcsEmailFake:
    """`with AcsEmailFake() as fake:` serves on 127.0.0.1 until the block ends."""

    def __init__(self, access_key: str | None = None) -> None:
        self.access_key = access_key or base64.b64encode(os.urandom(32)).decode()
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._operations: dict[str, dict[str, Any]] = {}
        self._accepted_at: dict[str, float] = {}
        self._failures: list[int] = []
        self._retry_after = 0.0
        self._quota: list[tuple[int, float]] = []
        self._accepted: list[float] = []  # when each new message was accepted (monotonic), for the quota
        self.throttled = 0  # sends answered 429 by the quota
        self._stalls: list[float] = []
        self._confirm_after = 0.0
        self._status_poll_404 = False
        self._webhook: str | None = None
        self._auto_report: str | None = None
        self.send_attempts = 0  # every POST that reached the fake, retries included
        self.status_polls = 0  # GETs of an operation's status
        self.unauthorized = 0  # requests answered 401
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> AcsEmailFake:
        self._tempdir = tempfile.TemporaryDirectory(prefix="acs-email-fake-")
        ca = trustme.CA()
        ca.cert_pem.write_to_path(self.ca_file)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        self._server = _Server(("127.0.0.1", 0), _Handler, fake=self)
        # Handshake lazily, in the request's own thread, so one stuck client cannot block accept().
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="acs-email-fake", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self._server and self._thread and self._tempdir
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._tempdir.cleanup()

    # -- what tests use --------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        assert self._server, "use the fake as a context manager"
        return f"https://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.endpoint};accesskey={self.access_key}"

    @property
    def ca_file(self) -> Path:
        assert self._tempdir, "use the fake as a context manager"
        return Path(self._tempdir.name) / "ca.pem"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Accepted messages, as the JSON the client posted, oldest first."""
        return [delivery.message for delivery in self.deliveries]

    @property
    def deliveries(self) -> list[Delivery]:
        """Accepted messages with their operation ids, oldest first."""
        with self._lock:
            return list(self._deliveries)

    def deliveries_to(self, address: str) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if address.lower() in delivery.recipients]

    def reset(self) -> None:
        """Back to a healthy ACS: no queued failures or stalls, prompt confirmations, no automatic reports."""
        with self._lock:
            self._failures.clear()
            self._stalls.clear()
            self._confirm_after = 0.0
            self._status_poll_404 = False
            self._auto_report = None
            self._retry_after = 0.0
            self._quota = []

    def fail_next(self, status: int, times: int = 1, *, retry_after: float = 0.0) -> None:
        """Answer the next `times` send requests with `status` (429 comes with Retry-After: `retry_after`)."""
        with self._lock:
            self._failures.extend([status] * times)
            self._retry_after = retry_after

    def enforce_quota(self, *limits: tuple[int, float]) -> None:
        """Accept at most n new messages in any `seconds`-long window, for each (n, seconds) given,
        as ACS's quota does (30 a minute and 100 an hour for a new resource); none: no quota."""
        with self._lock:
            self._quota = list(limits)
            self._accepted.clear()
            self.throttled = 0

    def _quota_wait(self, now: float) -> float:
        """Seconds until the quota has room for one more message (0: room now). Called under the lock."""
        wait = 0.0
        for limit, seconds in self._quota:
            inside = [at for at in self._accepted if at > now - seconds]
            if len(inside) >= limit:
                wait = max(wait, inside[-limit] + seconds - now)
        return wait

    def stall_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next `times` send requests for `seconds` before answering them (ACS being slow to accept)."""
        with self._lock:
            self._stalls.extend([seconds] * times)

    def confirm_after(self, seconds: float) -> None:
        """Accepted operations report Running for `seconds` before Succeeded, as real ACS often does."""
        with self._lock:
            self._confirm_after = seconds

    def answer_status_polls_with_404(self, enabled: bool = True) -> None:
        """Answer GET of an operation's status with 404 although the send was accepted (seen from real ACS)."""
        with self._lock:
            self._status_poll_404 = enabled

    # -- delivery reports (Event Grid) -------------------------------------------------------------

    def subscribe(self, webhook_url: str) -> None:
        """Create the Event Grid subscription: validate the webhook as Event Grid does, then deliver to it.

        Event Grid posts a SubscriptionValidationEvent and requires the code back in the answer's
        `validationResponse`; a webhook that fails the handshake gets no events.
        """
        code = str(uuid4())
        event = _event_grid_event(
            SUBSCRIPTION_VALIDATION, "", {"validationCode": code, "validationUrl": f"{self.endpoint}validate?code={code}"}
        )
        answer = requests.post(webhook_url, json=[event], headers={"aeg-event-type": "SubscriptionValidation"}, timeout=30)
        if answer.status_code != 200 or answer.json().get("validationResponse") != code:
            raise AssertionError(f"Event Grid validation failed: {answer.status_code} {answer.text[:300]}")
        with self._lock:
            self._webhook = webhook_url

    def report_automatically(self, status: str | None) -> None:
        """Post a delivery report with `status` (Delivered, Bounced, ...) for every send accepted from now on."""
        with self._lock:
            self._auto_report = status

    def report(self, operation_ids: list[str], status: str, detail: str = "") -> requests.Response:
        """Post one Event Grid batch with a delivery report per operation; returns the webhook's answer."""
        with self._lock:
            webhook = self._webhook
            known = {delivery.operation_id: delivery for delivery in self._deliveries}
        assert webhook, "subscribe() first"
        events = []
        for operation_id in operation_ids:
            delivery = known.get(operation_id)
            recipient = delivery.recipients[0] if delivery else "unknown@customer.example"
            sender = delivery.message["senderAddress"] if delivery else "DoNotReply@mail.rconnect.example"
            data = {
                "sender": sender,
                "recipient": recipient,
                "messageId": operation_id,
                "status": status,
                "deliveryStatusDetails": {"statusMessage": detail or _STATUS_MESSAGES.get(status, status)},
                "deliveryAttemptTimeStamp": datetime.now(UTC).isoformat(),
            }
            events.append(_event_grid_event(DELIVERY_REPORT, f"sender/{sender}/message/{operation_id}", data))
        return requests.post(webhook, json=events, headers={"aeg-event-type": "Notification"}, timeout=30)

    def _report_later(self, operation_id: str, status: str) -> None:
        def post() -> None:
            time.sleep(0.2)  # after the 202, as ACS reports once the receiving server answered
            self.report([operation_id], status)

        threading.Thread(target=post, name="acs-delivery-report", daemon=True).start()

    # -- request handling ------------------------------------------------------------------------

    def _authorized(self, verb: str, path: str, headers: Message, body: bytes) -> bool:
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
        date = headers.get("x-ms-date", "")
        if headers.get("x-ms-content-sha256") != content_hash or not _is_recent(date):
            return False
        string_to_sign = f"{verb}\n{path}\n{date};{headers.get('Host', '')};{content_hash}"
        digest = hmac.new(base64.b64decode(self.access_key), string_to_sign.encode(), hashlib.sha256).digest()
        expected = f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={base64.b64encode(digest).decode()}"
        return hmac.compare_digest(headers.get("Authorization", ""), expected)

    def _send(self, handler: _Handler, api_version: str, body: bytes) -> None:
        with self._lock:
            self.send_attempts += 1
            failure = self._failures.pop(0) if self._failures else None
            stall = self._stalls.pop(0) if self._stalls else 0.0
        time.sleep(stall)
        if failure is not None:
            extra = _retry_after(self._retry_after) if failure == 429 else {}
            handler.reply_error(failure, "SimulatedFailure", "The fake was told to fail this request", extra)
            return
        try:
            message = json.loads(body)
            valid = bool(message["senderAddress"] and message["recipients"]["to"] and message["content"]["subject"])
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            handler.reply_error(400, "BadRequest", "senderAddress, recipients.to and content.subject are required")
            return
        # ACS treats a repeated Operation-Id as the same send: a client retry must not deliver twice.
        operation_id = handler.headers.get("Operation-Id") or str(uuid4())
        report = None
        wait = 0.0
        with self._lock:
            now = time.monotonic()
            if operation_id not in self._operations and (wait := self._quota_wait(now)) > 0:
                self.throttled += 1
            elif operation_id not in self._operations:
                self._accepted.append(now)
                self._operations[operation_id] = {"id": operation_id, "status": "Succeeded"}
                self._accepted_at[operation_id] = time.monotonic() + self._confirm_after
                self._deliveries.append(Delivery(operation_id, message))
                report = self._auto_report if self._webhook else None
        if wait > 0:
            handler.reply_error(429, "TooManyRequests", "The sending quota is exhausted", _retry_after(wait))
            return
        if report:
            self._report_later(operation_id, report)
        location = f"{self.endpoint}emails/operations/{operation_id}?api-version={api_version}"
        handler.reply(
            202,
            {"id": operation_id, "status": "Running"},
            {"Operation-Location": location, "operation-id": operation_id},
        )

    def _operation(self, handler: _Handler, operation_id: str) -> None:
        with self._lock:
            self.status_polls += 1
            operation = self._operations.get(operation_id)
            confirmed = time.monotonic() >= self._accepted_at.get(operation_id, 0.0)
            lost = self._status_poll_404
        if operation is None or lost:
            handler.reply_error(404, "NotFound", f"No operation {operation_id}")
        elif not confirmed:
            handler.reply(200, {"id": operation_id, "status": "Running"})
        else:
            handler.reply(200, operation)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], *, fake: AcsEmailFake):
        self.fake = fake
        super().__init__(address, handler)


class _Handler(JsonHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def _route(self, verb: str) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not fake._authorized(verb, self.path, self.headers, body):
            with fake._lock:
                fake.unauthorized += 1
            self.reply_error(401, "Denied", "Denied by the HMAC check")
            return
        url = urlsplit(self.path)
        api_version = parse_qs(url.query).get("api-version", [""])[0]
        if not api_version:
            self.reply_error(400, "MissingApiVersion", "The api-version query parameter is required")
        elif verb == "POST" and url.path == _SEND_PATH:
            fake._send(self, api_version, body)
        elif verb == "GET" and url.path.startswith(_OPERATIONS_PATH):
            fake._operation(self, url.path.removeprefix(_OPERATIONS_PATH))
        else:
            self.reply_error(404, "NotFound", f"No route for {verb} {url.path}")

    def reply_error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.reply(status, {"error": {"code": code, "message": message}}, headers)


_STATUS_MESSAGES = {
    "Delivered": "No error.",
    "Bounced": "550 5.1.1 The e-mail account that you tried to reach does not exist.",
    "Suppressed": "The recipient is on the suppression list.",
    "Failed": "The message could not be delivered.",
}


def _retry_after(seconds: float) -> dict[str, str]:
    """ACS's headers asking to wait: whole seconds in Retry-After, and milliseconds."""
    return {"Retry-After": str(math.ceil(seconds)), "retry-after-ms": str(math.ceil(seconds * 1000))}


def _event_grid_event(event_type: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event in the Event Grid schema, as ACS's system topic publishes it."""
    return {
        "id": str(uuid4()),
        "topic": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rconnect"
        "/providers/Microsoft.Communication/communicationServices/rconnect-acs",
        "subject": subject,
        "eventType": event_type,
        "eventTime": datetime.now(UTC).isoformat(),
        "data": data,
        "dataVersion": "1.0",
        "metadataVersion": "1",
    }


def _is_recent(http_date: str) -> bool:
    try:
        sent = parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return False
    return abs(datetime.now(UTC) - sent) <= _MAX_CLOCK_SKEW
