"""The EmailSender contract, held against the in-memory sender (tests/fakes/mail.py), the .eml outbox
and the ACS sender talking to the loopback ACS (tests/fakes/acs_email_server.py, a thread of this
process that checks the HMAC signature as ACS does)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from shared.adapters.mail.acs import AcsEmailSender
from shared.adapters.mail.outbox import OutboxEmailSender
from shared.domain.mail import OutgoingEmail
from shared.services.ports import EmailSender
from tests.fakes.acs_email_server import AcsEmailFake
from tests.fakes.mail import MemoryEmailSender

SENDER = "DoNotReply@mail.rconnect.example"
Delivered = Callable[[str], list[tuple[str, str]]]  # (recipient, subject) of what was handed over under an operation id


@dataclass(frozen=True)
class Mailer:
    sender: EmailSender
    delivered: Delivered
    fail_for_now: Callable[[], None]  # the next sends meet a passing failure (an outage)
    throttle: Callable[[float], None] | None  # the next sends are over the quota: wait this long (None: no quota)
    recover: Callable[[], None]
    refuse: Callable[[], None] | None  # the next send meets a refusal that will repeat (None: this sender has none)


def memory_mailer() -> Mailer:
    fake = MemoryEmailSender()
    return Mailer(
        fake,
        lambda operation: [(sent.message.to_address, sent.message.subject) for sent in fake.sent if sent.operation_id == operation],
        lambda: fake.fail_next(times=100),
        lambda wait: fake.throttle_next(wait, times=100),
        fake.reset,
        lambda: fake.fail_next("ACS answered 401 Unauthorized", retryable=False),
    )


def outbox_mailer(directory: Path) -> Mailer:
    def delivered(operation: str) -> list[tuple[str, str]]:
        files = sorted(directory.glob(f"*-{operation}.eml")) if directory.is_dir() else []
        messages = [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]
        return [(recipient(message), str(message["Subject"])) for message in messages]

    def unwritable() -> None:
        directory.write_text("a file where the outbox folder should be")

    return Mailer(
        OutboxEmailSender(directory, SENDER, "My rConnect"), delivered, unwritable, None, lambda: directory.unlink(missing_ok=True), None
    )


def recipient(message: EmailMessage) -> str:
    [address] = message["To"].addresses
    return str(address.addr_spec)


def acs_mailer(acs: AcsEmailFake) -> Mailer:
    def delivered(operation: str) -> list[tuple[str, str]]:
        return [(d.recipients[0], d.message["content"]["subject"]) for d in acs.deliveries if d.operation_id == operation]

    return Mailer(
        AcsEmailSender(SENDER, connection_string=acs.connection_string),
        delivered,
        lambda: acs.fail_next(503, times=100),
        lambda wait: acs.fail_next(429, times=100, retry_after=wait),
        acs.reset,
        lambda: acs.fail_next(400),
    )


@pytest.fixture
def acs(acs_fake: AcsEmailFake, monkeypatch: pytest.MonkeyPatch) -> Iterator[AcsEmailFake]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(acs_fake.ca_file))  # the SDK always uses https: trust the fake's certificate
    acs_fake.reset()
    yield acs_fake
    acs_fake.reset()


def mailer(request: pytest.FixtureRequest) -> Mailer:
    if request.param == "memory":
        return memory_mailer()
    if request.param == "outbox":
        return outbox_mailer(request.getfixturevalue("tmp_path") / "outbox")
    return acs_mailer(request.getfixturevalue("acs"))


@pytest.fixture(params=["memory", "outbox", "acs"])
def any_mailer(request: pytest.FixtureRequest) -> Mailer:
    return mailer(request)


@pytest.fixture(params=["memory", "acs"])
def refusing_mailer(request: pytest.FixtureRequest) -> Mailer:
    """The senders that can meet a lasting refusal (the outbox has none)."""
    return mailer(request)


def message(to: str = "anna.keller@contoso.example") -> OutgoingEmail:
    return OutgoingEmail(to_address=to, to_name="Anna Keller", subject="Your invitation", html="<p>Welcome</p>", text="Welcome")


def operation() -> str:
    return str(uuid.uuid4())


def test_a_send_hands_the_message_over_under_its_operation_id(any_mailer: Mailer) -> None:
    sent = operation()
    result = any_mailer.sender.send(message(), sent)
    assert (result.status, result.operation_id, result.error) == ("sent", sent, None)
    assert any_mailer.delivered(sent) == [("anna.keller@contoso.example", "Your invitation")]


def test_the_same_operation_again_sends_nothing_new(any_mailer: Mailer) -> None:
    first, second = operation(), operation()
    for _ in range(2):
        assert any_mailer.sender.send(message(), first).status == "sent"
    assert any_mailer.sender.send(message("ben@contoso.example"), second).status == "sent"
    assert any_mailer.delivered(first) == [("anna.keller@contoso.example", "Your invitation")]
    assert any_mailer.delivered(second) == [("ben@contoso.example", "Your invitation")]


def test_a_passing_failure_is_a_retryable_result_and_a_later_try_sends_once(any_mailer: Mailer) -> None:
    sent = operation()
    any_mailer.fail_for_now()
    result = any_mailer.sender.send(message(), sent)
    assert (result.status, result.retryable, result.operation_id) == ("failed", True, None)
    assert result.error and any_mailer.delivered(sent) == []
    any_mailer.recover()
    assert any_mailer.sender.send(message(), sent).status == "sent"
    assert len(any_mailer.delivered(sent)) == 1


def test_a_refusal_that_would_repeat_is_not_retryable(refusing_mailer: Mailer) -> None:
    sent = operation()
    assert refusing_mailer.refuse is not None
    refusing_mailer.refuse()
    result = refusing_mailer.sender.send(message(), sent)
    assert (result.status, result.retryable) == ("failed", False)
    assert result.error and refusing_mailer.delivered(sent) == []


@pytest.fixture(params=["memory", "acs"])
def quota_mailer(request: pytest.FixtureRequest) -> Mailer:
    """The senders with a sending quota (the outbox has none)."""
    return mailer(request)


def test_a_send_over_the_quota_is_throttled_with_the_wait_asked_and_a_later_try_sends_once(quota_mailer: Mailer) -> None:
    sent = operation()
    assert quota_mailer.throttle is not None
    quota_mailer.throttle(1.5)
    result = quota_mailer.sender.send(message(), sent)
    assert (result.status, result.retry_after, result.operation_id) == ("throttled", 1.5, None)
    assert result.error == "ACS answered 429 Too Many Requests" and quota_mailer.delivered(sent) == []
    quota_mailer.recover()
    assert quota_mailer.sender.send(message(), sent).status == "sent"
    assert len(quota_mailer.delivered(sent)) == 1
