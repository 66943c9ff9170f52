"""The e-mail senders (shared/adapters/mail) against a loopback ACS that checks signatures, and against the .eml outbox."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from shared.adapters.mail import OutgoingEmail
from shared.composition import email_sender as create_sender
from shared.presentation.invitation_email import render_invitation_email
from shared.settings import Settings
from tests.fakes.acs_email_server import AcsEmailFake

REDEEM_URL = "https://invite.rconnect.example/api/AcceptInvitation?code=abc123&lang=en"
SENDER = "DoNotReply@rconnect.example"


def invitation(**overrides: Any) -> OutgoingEmail:
    arguments: dict[str, Any] = {
        "to_address": "jane.doe@customer.example",
        "to_name": "Jane Doe",
        "inviter_name": "Marco Rossi",
        "inviter_organisation": "rConnect Service",
        "redeem_url": REDEEM_URL,
        "language": "en",
        "custom_message": None,
        "expires_at": datetime(2030, 3, 5, 23, 30, tzinfo=UTC),
        "admin_consent_help_url": "https://help.rconnect.example/admin-consent",
        "customer_success_email": "customer.success@rconnect.example",
    }
    return render_invitation_email(**{**arguments, **overrides})


@pytest.fixture
def acs(monkeypatch: pytest.MonkeyPatch) -> Iterator[AcsEmailFake]:
    with AcsEmailFake() as fake:
        # The SDK always uses https; this is how the client comes to trust the fake's certificate.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake.ca_file))
        yield fake


def settings(tmp_path: Path, connection_string: str | None = None) -> Settings:
    return Settings(
        acs_connection_string=SecretStr(connection_string) if connection_string else None,
        acs_sender_address=SENDER,
        outbox_dir=tmp_path / "outbox",
    )


def read_eml(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


# -- ACS ---------------------------------------------------------------------------------------------


def test_acs_delivers_a_signed_request_with_both_bodies(acs: AcsEmailFake, tmp_path: Path) -> None:
    result = create_sender(settings(tmp_path, acs.connection_string)).send(invitation())

    assert result.status == "sent" and result.message_id and result.error is None
    [posted] = acs.messages
    assert posted["senderAddress"] == SENDER
    assert posted["recipients"]["to"] == [{"address": "jane.doe@customer.example", "displayName": "Jane Doe"}]
    assert posted["content"]["subject"] == "Marco Rossi from rConnect Service invited you to My rConnect"
    assert REDEEM_URL in posted["content"]["plainText"]
    assert REDEEM_URL.replace("&", "&amp;") in posted["content"]["html"]
    assert acs.unauthorized == 0
    assert not (tmp_path / "outbox").exists()


def test_acs_rejects_a_wrong_access_key(acs: AcsEmailFake, tmp_path: Path) -> None:
    wrong = base64.b64encode(b"not the key of this resource").decode()
    sender = create_sender(settings(tmp_path, acs.connection_string.replace(acs.access_key, wrong)))

    result = sender.send(invitation())

    assert (result.status, result.error) == ("failed", "ACS answered 401 Unauthorized")
    assert acs.unauthorized >= 1 and acs.messages == []


@pytest.mark.parametrize(
    ("status", "error"), [(500, "ACS answered 500 Internal Server Error"), (429, "ACS answered 429 Too Many Requests")]
)
def test_acs_failures_come_back_readable_and_quickly(
    acs: AcsEmailFake, tmp_path: Path, status: int, error: str
) -> None:
    acs.fail_next(status, times=10)  # more than the sender retries
    sender = create_sender(settings(tmp_path, acs.connection_string))

    started = time.monotonic()
    result = sender.send(invitation())

    assert (result.status, result.message_id, result.error) == ("failed", None, error)
    assert time.monotonic() - started < 5
    assert 1 < acs.send_attempts < 10  # retried, but boundedly
    assert acs.messages == []
    assert not (tmp_path / "outbox").exists()  # no silent fallback that would report a lost message as sent


def test_acs_retries_a_transient_failure_and_delivers_once(acs: AcsEmailFake, tmp_path: Path) -> None:
    acs.fail_next(503)

    result = create_sender(settings(tmp_path, acs.connection_string)).send(invitation())

    assert result.status == "sent"
    assert len(acs.messages) == 1 and acs.send_attempts == 2


def test_acs_operation_that_ends_failed_is_a_failure(acs: AcsEmailFake, tmp_path: Path) -> None:
    acs.fail_next_delivery()

    result = create_sender(settings(tmp_path, acs.connection_string)).send(invitation())

    assert result.status == "failed"
    assert result.error == "ACS reported the send as Failed: Message was not delivered"


def test_acs_unreachable_is_a_failure(tmp_path: Path) -> None:
    with AcsEmailFake() as fake:
        connection_string = fake.connection_string  # its port is closed once the block ends

    result = create_sender(settings(tmp_path, connection_string)).send(invitation())

    assert (result.status, result.error) == ("failed", "Could not reach ACS")


# -- outbox ------------------------------------------------------------------------------------------


def test_outbox_writes_a_parseable_eml_with_both_parts(tmp_path: Path) -> None:
    sender = create_sender(settings(tmp_path))

    first, second = sender.send(invitation()), sender.send(invitation(to_name="John Roe"))

    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2 and first.status == second.status == "sent"
    eml = read_eml(files[0])
    assert eml["Message-ID"] == first.message_id
    assert eml["From"] == SENDER
    assert eml["To"] == "Jane Doe <jane.doe@customer.example>"
    assert eml["Subject"] == "Marco Rossi from rConnect Service invited you to My rConnect"
    assert eml["Date"].datetime.tzinfo is not None
    assert eml.get_content_type() == "multipart/alternative"
    assert REDEEM_URL in eml.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert REDEEM_URL.replace("&", "&amp;") in eml.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert read_eml(files[1])["To"] == "John Roe <jane.doe@customer.example>"  # names sort by sending time


def test_outbox_that_cannot_be_written_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be")

    result = create_sender(settings(tmp_path)).send(invitation())

    assert result.status == "failed" and result.error and result.error.startswith("Could not write to the outbox")


# -- content -----------------------------------------------------------------------------------------


def test_english_invitation_has_every_part() -> None:
    email = invitation()

    for body in (email.text, email.html):
        assert "Hi, Jane Doe!" in body
        assert "Marco Rossi from rConnect Service has invited you to use My rConnect" in body
        assert "Get started now" in body
        assert "March 5, 2030" in body
        assert "https://help.rconnect.example/admin-consent" in body
        assert "customer.success@rconnect.example" in body
    # The text twin shows the bare link next to the call to action instead of a fallback line.
    assert f"Get started now: {REDEEM_URL}" in email.text
    assert "copy and paste this link into your browser:" in email.html.replace("&#39;", "'")
    assert 'bgcolor="#F39200"' in email.html
    assert 'lang="en"' in email.html


def test_french_invitation_uses_french_text() -> None:
    email = invitation(language="fr", expires_at=datetime(2030, 8, 1, 12, 0, tzinfo=UTC))

    assert email.subject == "Marco Rossi de rConnect Service vous invite sur My rConnect"
    for body in (email.text, email.html):
        assert "Commencer maintenant" in body
        assert "1 août 2030" in body
        assert "Get started now" not in body
    assert 'lang="fr"' in email.html


def test_expiry_is_the_utc_date() -> None:
    late_evening_in_new_york = datetime.fromisoformat("2030-03-05T22:00:00-05:00")  # 03:00 UTC on the 6th

    assert "March 6, 2030" in invitation(expires_at=late_evening_in_new_york).text


def test_user_supplied_text_is_escaped_in_html() -> None:
    email = invitation(
        to_name="<script>alert(1)</script>",
        inviter_name='Eve "<b>"',
        inviter_organisation="A & B <i>",
        custom_message="<img src=x onerror=alert(1)>",
    )

    assert "<script>" not in email.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html
    assert "<b>" not in email.html and "<i>" not in email.html and "<img" not in email.html
    assert "A &amp; B &lt;i&gt;" in email.html
    assert "Hi, <script>alert(1)</script>!" in email.text  # plain text stays literal


def test_custom_message_is_quoted_with_its_line_breaks() -> None:
    email = invitation(custom_message="Welcome aboard!\nSee you at the <factory> tour.")

    assert "Welcome aboard!<br>See you at the &lt;factory&gt; tour." in email.html
    assert "> Welcome aboard!\n> See you at the <factory> tour." in email.text
    assert "Marco Rossi wrote:" in email.text
    assert "wrote:" not in invitation().text


def test_line_breaks_never_reach_headers() -> None:
    email = invitation(to_name="Jane\r\nBcc: victim@example.com", inviter_name="Marco\nRossi")

    assert email.to_name == "Jane Bcc: victim@example.com"
    assert "\n" not in email.subject
