"""Invitation e-mails through the Azure Communication Services REST API (the loopback fake that
checks the HMAC signature), end to end: staff API → app → ACS fake, and what is stored in Azurite."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack import LocalStack
from tests.fakes.acs_email_server import AcsEmailFake
from tests.storage import Stored
from tests.support import Api, invitation_body, unique_email

SENDER = "DoNotReply@mail.rconnect.example"  # what the acs_stack fixture configures
ACS_ATTEMPTS_PER_SEND = 3  # one try and the sender's two retries (shared/mail/acs.py)


@pytest.fixture(scope="module")
def acs_api(acs_stack: LocalStack) -> Api:
    return Api(acs_stack)


@pytest.fixture(scope="module")
def acs_stored(acs_stack: LocalStack) -> Stored:
    return Stored.of(acs_stack)


def recover(fake: AcsEmailFake) -> None:
    """Drop failures still queued by fail_next (the fake has no public reset for them)."""
    with fake._lock:
        fake._failures.clear()
        fake._failed_deliveries = 0


@pytest.fixture(autouse=True)
def healthy_fake(acs_fake: AcsEmailFake) -> Iterator[None]:
    recover(acs_fake)
    yield
    recover(acs_fake)


def posted_to(fake: AcsEmailFake, address: str) -> list[dict[str, Any]]:
    return [
        message for message in fake.messages
        if any(to["address"].lower() == address.lower() for to in message["recipients"]["to"])
    ]


def test_an_invitation_is_delivered_through_acs(
    acs_api: Api, acs_stack: LocalStack, acs_fake: AcsEmailFake, acs_stored: Stored
) -> None:
    address = unique_email()
    unauthorized = acs_fake.unauthorized
    created = acs_api.invite(invitee={"email": address, "displayName": "Anna Keller"})

    assert created["email"]["status"] == "sent" and created["email"]["error"] is None
    assert created["email"]["attempts"] == 1 and created["email"]["messageId"]
    link = created["inviteRedeemUrl"]
    assert link == f"{acs_stack.base_url}/api/InviteUser?invitationId={created['id']}"
    [message] = posted_to(acs_fake, address)
    assert message["senderAddress"] == SENDER
    assert message["recipients"]["to"] == [{"address": address, "displayName": "Anna Keller"}]
    assert message["content"]["subject"] == "Mohamed-Nour, Tamer from GFMS invited you to My rConnect"
    assert link in message["content"]["plainText"] and f'href="{link}"' in message["content"]["html"]
    assert "Hi, Anna Keller!" in message["content"]["plainText"] and "Hi, Anna Keller!" in message["content"]["html"]
    assert acs_fake.unauthorized == unauthorized, "every request must pass the HMAC check"

    data = acs_stored.invitation(created["id"])["data"]
    assert data["email"]["status"] == "sent" and data["email"]["message_id"] == created["email"]["messageId"]
    # The outbox is for local runs only: with ACS configured nothing is written there.
    assert not any(address in path.read_text(errors="replace") for path in acs_stack.outbox.glob("*.eml"))


@pytest.mark.parametrize(("status", "reason"), [(500, "Internal Server Error"), (429, "Too Many Requests")])
def test_a_failing_acs_leaves_a_stored_failed_invitation_that_resend_delivers(
    acs_api: Api, acs_fake: AcsEmailFake, acs_stored: Stored, status: int, reason: str
) -> None:
    address = unique_email()
    acs_fake.fail_next(status, times=10)
    attempts_before = acs_fake.send_attempts
    response = acs_api.post("/invitations", json=invitation_body(invitee={"email": address, "displayName": "Anna Keller"}))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending"
    email = created["email"]
    assert email["status"] == "failed" and email["messageId"] is None and email["attempts"] == 1
    assert email["error"] == f"ACS answered {status} {reason}"
    assert acs_fake.send_attempts - attempts_before == ACS_ATTEMPTS_PER_SEND, "retried, but briefly"
    assert posted_to(acs_fake, address) == []

    data = acs_stored.invitation(created["id"])["data"]
    assert data["status"] == "pending"
    assert data["email"]["status"] == "failed" and data["email"]["error"] == email["error"]
    trail = acs_stored.audit(created["id"])
    assert [event["action"] for event in trail] == ["created", "email-sent"]
    assert trail[-1]["detail"] == email["error"], "the audit trail says why the e-mail did not go out"

    recover(acs_fake)
    resent = acs_api.post(f"/invitations/{created['id']}/resend")
    assert resent.status_code == 200, resent.text
    delivery = resent.json()["email"]
    assert delivery["status"] == "sent" and delivery["attempts"] == 2
    assert delivery["error"] is None and delivery["messageId"]
    [message] = posted_to(acs_fake, address)
    assert created["inviteRedeemUrl"] in message["content"]["plainText"]
    data = acs_stored.invitation(created["id"])["data"]
    assert data["email"]["status"] == "sent" and data["email"]["attempts"] == 2 and data["email"]["error"] is None
    assert [event["action"] for event in acs_stored.audit(created["id"])] == ["created", "email-sent", "email-resent"]
