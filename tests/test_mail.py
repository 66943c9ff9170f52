"""The e-mail senders (shared/adapters/mail) against a loopback ACS that checks signatures, and against the .eml outbox."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic import SecretStr

from shared.domain.mail import OutgoingEmail
from shared.presentation.invitation_email import ProductLinks, render_invitation_email
from shared.settings import Settings
from shared.wiring import email_sender as create_sender
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
        "product": ProductLinks("My rConnect", "https://docs.rconnect.example/", "mailto:customer.success@rconnect.example"),
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


def operation() -> str:
    return str(uuid4())


def test_acs_delivers_a_signed_request_with_both_bodies(acs: AcsEmailFake, tmp_path: Path) -> None:
    operation_id = operation()
    result = create_sender(settings(tmp_path, acs.connection_string)).send(invitation(), operation_id)

    assert (result.status, result.operation_id, result.error) == ("sent", operation_id, None)
    [delivery] = acs.deliveries
    assert delivery.operation_id == operation_id, "the caller's operation id is ACS's Operation-Id"
    posted = delivery.message
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

    result = sender.send(invitation(), operation())

    assert (result.status, result.error, result.retryable) == ("failed", "ACS answered 401 Unauthorized", False)
    assert acs.unauthorized >= 1 and acs.messages == []


@pytest.mark.parametrize(
    ("status", "error"), [(500, "ACS answered 500 Internal Server Error"), (503, "ACS answered 503 Service Unavailable")]
)  # 429 is not a failure: tests/contract/test_mail_port.py (throttled)
def test_acs_failures_come_back_readable_and_quickly(acs: AcsEmailFake, tmp_path: Path, status: int, error: str) -> None:
    acs.fail_next(status, times=10)  # more than the sender retries
    sender = create_sender(settings(tmp_path, acs.connection_string))

    started = time.monotonic()
    result = sender.send(invitation(), operation())

    assert (result.status, result.operation_id, result.error, result.retryable) == ("failed", None, error, True)
    assert time.monotonic() - started < 5
    assert 1 < acs.send_attempts < 10  # retried, but boundedly
    assert acs.messages == []
    assert not (tmp_path / "outbox").exists()  # no silent fallback that would report a lost message as sent


def test_acs_retries_a_transient_failure_and_delivers_once(acs: AcsEmailFake, tmp_path: Path) -> None:
    acs.fail_next(503)

    result = create_sender(settings(tmp_path, acs.connection_string)).send(invitation(), operation())

    assert result.status == "sent"
    assert len(acs.messages) == 1 and acs.send_attempts == 2


def test_acs_sending_one_operation_twice_delivers_once(acs: AcsEmailFake, tmp_path: Path) -> None:
    sender, operation_id = create_sender(settings(tmp_path, acs.connection_string)), operation()

    first, second = sender.send(invitation(), operation_id), sender.send(invitation(), operation_id)

    assert first.status == second.status == "sent"
    assert [delivery.operation_id for delivery in acs.deliveries] == [operation_id]


@pytest.mark.parametrize("fault", ["confirms-after-15-s", "status-poll-404"])
def test_acs_send_ends_when_acs_accepted_it_without_polling(acs: AcsEmailFake, tmp_path: Path, fault: str) -> None:
    if fault == "confirms-after-15-s":
        acs.confirm_after(15)
    else:
        acs.answer_status_polls_with_404()

    result = create_sender(settings(tmp_path, acs.connection_string)).send(invitation(), operation())

    assert result.status == "sent" and len(acs.messages) == 1
    assert acs.status_polls == 0, "the outcome comes from delivery reports, not from polling ACS"


def test_acs_unreachable_is_a_failure(tmp_path: Path) -> None:
    with AcsEmailFake() as fake:
        connection_string = fake.connection_string  # its port is closed once the block ends

    result = create_sender(settings(tmp_path, connection_string)).send(invitation(), operation())

    assert (result.status, result.error, result.retryable) == ("failed", "Could not reach ACS", True)


# -- outbox ------------------------------------------------------------------------------------------


def test_outbox_writes_a_parseable_eml_with_both_parts(tmp_path: Path) -> None:
    sender = create_sender(settings(tmp_path))

    first_id = operation()
    first, second = sender.send(invitation(), first_id), sender.send(invitation(to_name="John Roe"), operation())

    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2 and first.status == second.status == "sent" and first.operation_id == first_id
    eml = read_eml(files[0])
    assert eml["Message-ID"] == f"<{first_id}@rconnect.example>"
    assert eml["From"] == f"My rConnect <{SENDER}>", "the product's name as the sender's display name (PRODUCT_NAME)"
    assert eml["To"] == "Jane Doe <jane.doe@customer.example>"
    assert eml["Subject"] == "Marco Rossi from rConnect Service invited you to My rConnect"
    assert eml["Date"].datetime.tzinfo is not None
    assert eml.get_content_type() == "multipart/alternative"
    assert REDEEM_URL in eml.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert REDEEM_URL.replace("&", "&amp;") in eml.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert read_eml(files[1])["To"] == "John Roe <jane.doe@customer.example>"  # names sort by sending time


def test_outbox_writes_one_operation_once(tmp_path: Path) -> None:
    sender, operation_id = create_sender(settings(tmp_path)), operation()

    first, again = sender.send(invitation(), operation_id), sender.send(invitation(), operation_id)

    assert first.status == again.status == "sent"
    assert [path.name.endswith(f"-{operation_id}.eml") for path in (tmp_path / "outbox").glob("*.eml")] == [True]


def test_outbox_that_cannot_be_written_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be")

    result = create_sender(settings(tmp_path)).send(invitation(), operation())

    assert result.status == "failed" and result.error and result.error.startswith("Could not write to the outbox")


# -- content -----------------------------------------------------------------------------------------


# The customer guide's e-mail (its screenshot, transcribed), staging product name included; only the
# guide's scanning typo "opery and paste the URI," is corrected. Its paragraphs, in this order.
GUIDE_URL = "https://azfunc-symuserinvitation-staging.azurewebsites.net/api/InviteUser?invitationId=7ecbaadb-3c74-4d57-90aa-7d0678fd81f6"
GUIDE = [
    "Hi, Willy URS!",
    "Mohamed-Nour, Tamer from GFMS has invited you to use My rConnect (Stag) to collaborate with them. "
    "My rConnect (Stag) is a platform which helps you to boost your service processes and assets to the next level.",
    "Use the button below to set up your account and get started:",
    "Get started now",
    "Feel free to contact our customer success team anytime. (We’re lightning quick at replying.)",
    "Welcome aboard.",
    "The My rConnect (Stag) Team",
    "P.S. Need help getting started? Check out our product documentation.",
    "If you’re having trouble with the button above, copy and paste the URL below into your web browser",
    GUIDE_URL,
]
DOCS = "https://docs.rconnect.example/getting-started"
CUSTOMER_SUCCESS = "https://rconnect.example/customer-success"


def guide_invitation(**overrides: Any) -> OutgoingEmail:
    return invitation(
        to_name="Willy URS",
        inviter_name="Mohamed-Nour, Tamer",
        inviter_organisation="GFMS",
        redeem_url=GUIDE_URL,
        product=ProductLinks("My rConnect (Stag)", DOCS, CUSTOMER_SUCCESS),
        **overrides,
    )


class _Paragraphs(HTMLParser):
    """The text of each innermost table cell of an e-mail's body (one paragraph each), and its links."""

    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[str] = []
        self.links: dict[str, str] = {}  # link text -> href
        self._text: list[str] | None = None
        self._href: str | None = None
        self._link_text: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        style = dict(attrs).get("style") or ""
        if tag in ("head", "div") and (tag == "head" or "display:none" in style):
            self._hidden += 1
        elif tag == "td":
            self._text = []
        elif tag == "table":
            self._text = None  # an outer cell: only its innermost cells are paragraphs
        elif tag == "a":
            self._href, self._link_text = dict(attrs).get("href"), []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "div") and self._hidden:
            self._hidden -= 1
        elif tag == "td" and self._text is not None:
            text = re.sub(r"[ \t\r\n]+", " ", "".join(self._text)).strip()  # keeps no-break spaces
            if text:
                self.paragraphs.append(text)
            self._text = None
        elif tag == "a" and self._href is not None:
            self.links["".join(self._link_text).strip()] = self._href
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._text is not None:
            self._text.append(data)
        if self._href is not None:
            self._link_text.append(data)


def paragraphs(html: str) -> _Paragraphs:
    parser = _Paragraphs()
    parser.feed(html)
    return parser


def test_english_html_says_what_the_customer_guide_says_in_its_order() -> None:
    html = paragraphs(guide_invitation().html)

    assert html.paragraphs[: len(GUIDE)] == GUIDE
    # Our additions come after the guide's last line: the expiry, the work-account help, the footer.
    assert html.paragraphs[len(GUIDE) :] == [
        "This invitation is valid until March 5, 2030.",
        "Signing in with your company’s Microsoft work account? Your IT administrator may need to approve "
        "My rConnect (Stag) once. How your administrator approves My rConnect (Stag)",
        "This invitation was sent to jane.doe@customer.example. If you weren’t expecting it, you can ignore this e-mail.",
    ]
    assert html.links == {
        "Get started now": GUIDE_URL,
        "customer success team": CUSTOMER_SUCCESS,
        "product documentation": DOCS,
        GUIDE_URL: GUIDE_URL,
        "How your administrator approves My rConnect (Stag)": "https://help.rconnect.example/admin-consent",
    }


def test_english_text_part_has_the_same_paragraphs_with_each_link_below_its_text() -> None:
    lines = [line for line in guide_invitation().text.splitlines() if line.strip()]

    assert (
        lines
        == [
            *GUIDE[:4],
            GUIDE_URL,  # below "Get started now"
            GUIDE[4],
            CUSTOMER_SUCCESS,
            *GUIDE[5:8],
            DOCS,
            *GUIDE[8:],
            "This invitation is valid until March 5, 2030.",
            "Signing in with your company’s Microsoft work account? Your IT administrator may need to approve My rConnect (Stag) once.",
            "How your administrator approves My rConnect (Stag): https://help.rconnect.example/admin-consent",
            "This invitation was sent to jane.doe@customer.example. If you weren’t expecting it, you can ignore this e-mail.",
        ]
    )


def test_inviters_message_stays_between_the_introduction_and_the_button() -> None:
    email = guide_invitation(custom_message="See you at the plant on Monday.")

    html = paragraphs(email.html).paragraphs
    assert html[:2] == GUIDE[:2]
    assert html[2] == "Mohamed-Nour, Tamer wrote: See you at the plant on Monday."
    assert html[3 : len(GUIDE) + 1] == GUIDE[2:]
    lines = [line for line in email.text.splitlines() if line.strip()]
    assert lines[2:5] == ["Mohamed-Nour, Tamer wrote:", "> See you at the plant on Monday.", GUIDE[2]]


def test_customer_success_by_email_shows_the_address_in_the_text_part() -> None:
    email = invitation()

    assert paragraphs(email.html).links["customer success team"] == "mailto:customer.success@rconnect.example"
    assert "(We’re lightning quick at replying.)\ncustomer.success@rconnect.example\n" in email.text
    assert email.subject == "Marco Rossi from rConnect Service invited you to My rConnect"


@pytest.mark.parametrize("language", ["en", "fr", "de", "it", "es"])
def test_every_language_has_the_guides_structure(language: str) -> None:
    email = guide_invitation(language=language)
    english = paragraphs(guide_invitation().html)

    html = paragraphs(email.html)
    assert len(html.paragraphs) == len(english.paragraphs)
    assert html.paragraphs[0].count("Willy URS") == 1 and "Mohamed-Nour, Tamer" in html.paragraphs[1]
    assert html.paragraphs[1].count("My rConnect (Stag)") == 2 and "GFMS" in html.paragraphs[1]
    assert html.paragraphs[len(GUIDE) - 1] == GUIDE_URL
    assert sorted(html.links.values()) == sorted(english.links.values())
    assert f'lang="{language}"' in email.html
    if language != "en":
        assert not set(html.paragraphs) & set(GUIDE[:-1]), "every sentence is translated"
    text = [line for line in email.text.splitlines() if line.strip()]
    assert len(text) == len([line for line in guide_invitation().text.splitlines() if line.strip()])
    for line in (*html.paragraphs[:3], *html.paragraphs[4:7]):
        assert line in text


def test_french_invitation_uses_french_text() -> None:
    email = invitation(language="fr", expires_at=datetime(2030, 8, 1, 12, 0, tzinfo=UTC))

    assert email.subject == "Marco Rossi de rConnect Service vous invite sur My rConnect"
    for body in (email.text, email.html):
        assert "Commencer maintenant" in body
        assert "1 août 2030" in body
        assert "Get started now" not in body
    assert 'lang="fr"' in email.html
    assert "Bienvenue à bord." in paragraphs(email.html).paragraphs


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
