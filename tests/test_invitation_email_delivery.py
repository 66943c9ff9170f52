"""Invitation e-mails through the Azure Communication Services REST API (the loopback fake that
checks the HMAC signature), end to end: staff API → e-mail queue → app's queue worker → ACS fake,
and what is stored in Azurite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.acs_email_server import AcsEmailFake
from tests.storage import Stored
from tests.support import Api, invitation_body, unique_email
from tools.localstack.stack import LocalStack

SENDER = "DoNotReply@mail.rconnect.example"  # what the acs_stack fixture configures
ACS_ATTEMPTS_PER_SEND = 3  # one try and the ACS client's two retries, per delivery of the queue message
HOST_JSON = json.loads((Path(__file__).resolve().parent.parent / "host.json").read_text())
MAX_DEQUEUE_COUNT = HOST_JSON["extensions"]["queues"]["maxDequeueCount"]  # then the message is poisoned


@pytest.fixture(autouse=True)
def healthy_fake(acs_fake: AcsEmailFake) -> Iterator[None]:
    acs_fake.reset()
    yield
    acs_fake.reset()


def posted_to(fake: AcsEmailFake, address: str) -> list[dict[str, Any]]:
    return [message for message in fake.messages if any(to["address"].lower() == address.lower() for to in message["recipients"]["to"])]


def test_an_invitation_is_delivered_through_acs(acs_api: Api, acs_stack: LocalStack, acs_fake: AcsEmailFake, acs_stored: Stored) -> None:
    address = unique_email()
    unauthorized = acs_fake.unauthorized
    created = acs_api.invite(invitee={"email": address, "displayName": "Anna Keller"})

    assert created["email"]["status"] == "sent" and created["email"]["error"] is None
    assert created["email"]["attempt"] == 1 and created["email"]["operationId"] == created["email"]["sendId"]
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
    assert data["email"]["status"] == "sent" and data["email"]["operation_id"] == created["email"]["operationId"]
    # The outbox is for local runs only: with ACS configured nothing is written there.
    assert not any(address in path.read_text(errors="replace") for path in acs_stack.outbox.glob("*.eml"))


@pytest.mark.parametrize(("status", "reason"), [(500, "Internal Server Error"), (503, "Service Unavailable")])
def test_a_failing_acs_ends_in_a_stored_failed_email_that_resend_delivers(
    acs_api: Api, acs_fake: AcsEmailFake, acs_stored: Stored, status: int, reason: str
) -> None:
    address = unique_email()
    acs_fake.fail_next(status, times=1000)
    attempts_before = acs_fake.send_attempts
    response = acs_api.post("/invitations", json=invitation_body(invitee={"email": address, "displayName": "Anna Keller"}))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending" and created["email"]["status"] == "queued"
    # Every delivery of the queue message fails; after maxDequeueCount it is poisoned and the send marked failed.
    failed = acs_api.email_settled(created["id"])
    email = failed["email"]
    assert email["status"] == "failed" and email["operationId"] is None and email["attempt"] == 1
    assert email["error"] == f"ACS answered {status} {reason}"
    assert acs_fake.send_attempts - attempts_before == MAX_DEQUEUE_COUNT * ACS_ATTEMPTS_PER_SEND, "retried, boundedly"
    assert posted_to(acs_fake, address) == []

    data = acs_stored.invitation(created["id"])["data"]
    assert data["status"] == "pending"
    assert data["email"]["status"] == "failed" and data["email"]["error"] == email["error"]
    trail = acs_stored.audit(created["id"])
    assert [event["action"] for event in trail] == ["created", "email-failed"]
    assert trail[-1]["detail"] == email["error"], "the audit trail says why the e-mail did not go out"

    acs_fake.reset()
    resent = acs_api.post(f"/invitations/{created['id']}/resend")
    assert resent.status_code == 200, resent.text
    assert resent.json()["email"]["status"] == "queued" and resent.json()["email"]["attempt"] == 2
    delivery = acs_api.email_settled(created["id"])["email"]
    assert delivery["status"] == "sent" and delivery["attempt"] == 2
    assert delivery["error"] is None and delivery["operationId"] == resent.json()["email"]["sendId"]
    [message] = posted_to(acs_fake, address)
    assert created["inviteRedeemUrl"] in message["content"]["plainText"]
    data = acs_stored.invitation(created["id"])["data"]
    assert data["email"]["status"] == "sent" and data["email"]["attempt"] == 2 and data["email"]["error"] is None
    assert [event["action"] for event in acs_stored.audit(created["id"])] == ["created", "email-failed", "email-resent", "email-sent"]
