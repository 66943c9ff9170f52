"""E-mail within ACS's quota, on the whole stack with time scaled down: the app paces to
EMAIL_PER_MINUTE = 30 per (scaled) minute of MINUTE seconds, the loopback ACS enforces the same
quota (429 + Retry-After beyond it). A batch crossing several windows ends with every e-mail sent
and none failed, in about the time the quota allows, while a single invitation created meanwhile
goes at once; a stricter ACS throttles and the throttled e-mails go later, none failed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.acs_email_server import AcsEmailFake
from tests.support import Api, eventually, invitation_body, unique_email
from tools.localstack.stack import LocalStack, StackConfig

MINUTE = 10.0  # seconds in the scaled minute (an hour is 60 of them)
PER_MINUTE = 30
ROWS = 60  # 24 a minute for batch rows (30 less the 20 % reserve): three windows, ~24 s


@pytest.fixture(scope="module")
def quota_acs() -> Iterator[AcsEmailFake]:
    with AcsEmailFake() as fake:
        yield fake


@pytest.fixture(scope="module")
def quota_api(tmp_path_factory: pytest.TempPathFactory, quota_acs: AcsEmailFake) -> Iterator[Api]:
    config = StackConfig.on_free_ports(
        tmp_path_factory.mktemp("quota-stack"),
        app_env={
            "ACS_CONNECTION_STRING": quota_acs.connection_string,
            "ACS_SENDER_ADDRESS": "DoNotReply@mail.rconnect.example",
            "EMAIL_PER_MINUTE": str(PER_MINUTE),
            "EMAIL_PER_HOUR": "10000",
            "EMAIL_QUOTA_MINUTE_SECONDS": str(MINUTE),
        },
        extra_ca_files=(Path(quota_acs.ca_file),),
    )
    with LocalStack(config) as running:
        yield Api(running)


def row() -> dict[str, object]:
    return invitation_body(invitee={"email": unique_email(), "displayName": "Anna Keller"})


def test_a_batch_is_paced_to_the_quota_with_none_failed_and_a_single_invitation_goes_at_once(
    quota_api: Api, quota_acs: AcsEmailFake
) -> None:
    quota_acs.enforce_quota((PER_MINUTE, MINUTE))
    started = time.monotonic()
    response = quota_api.post("/invitations/batch", json=[row() for _ in range(ROWS)])
    assert response.status_code == 202, response.text
    location = quota_api.base.removesuffix("/api") + response.headers["Location"]

    def rows_created() -> dict[str, Any] | None:
        batch: dict[str, Any] = quota_api.session.get(location, timeout=30).json()
        return batch if batch["status"] == "completed" else None

    batch = eventually(rows_created, "the batch's invitations to be created", 30)
    assert (batch["created"], batch["failed"]) == (ROWS, 0)
    expected = datetime.fromisoformat(batch["expectedCompletionAt"])
    # A single invitation created while the batch's e-mails wait for their places goes within a
    # (scaled) minute, ahead of the batch's last rows: at worst ACS's own window throttles it briefly.
    single_at = time.monotonic()
    single = quota_api.invite(invitee={"email": unique_email(), "displayName": "Ben"})
    single_seconds = time.monotonic() - single_at
    assert single["email"]["status"] == "sent" and single_seconds < MINUTE, f"the single invitation took {single_seconds:.1f} s"

    ids = [item["invitationId"] for item in batch["rows"]]
    pending = [quota_api.invitation(ids[-1])["email"]]
    assert pending[0]["status"] == "queued" and pending[0]["nextAttemptAt"] is not None, "the last row waits for its place"

    def all_sent() -> bool:
        return len(quota_acs.deliveries) >= ROWS + 1

    eventually(all_sent, "every e-mail to reach ACS", 3 * MINUTE + 20)
    elapsed = time.monotonic() - started
    emails = [quota_api.invitation(invitation_id)["email"] for invitation_id in ids]
    assert [email["status"] for email in emails] == ["sent"] * ROWS, "none failed for being throttled"
    # 60 rows at 24 a window: the last one's place is in the third window.
    assert 2 * MINUTE <= elapsed < 3 * MINUTE + 20, f"took {elapsed:.1f} s"
    assert (expected - datetime.fromisoformat(batch["createdAt"])).total_seconds() < 3 * MINUTE
    print(
        f"{ROWS} rows at {PER_MINUTE}/{MINUTE:.0f} s: all sent in {elapsed:.1f} s ({quota_acs.throttled} throttled by ACS, "
        f"0 failed); a single invitation meanwhile in {single_seconds:.1f} s"
    )


def test_a_stricter_acs_throttles_and_the_throttled_emails_go_later_none_failed(quota_api: Api, quota_acs: AcsEmailFake) -> None:
    quota_acs.enforce_quota((3, MINUTE))  # ACS allows fewer than the app was told (another sender on the resource)
    ids = []
    for _ in range(5):
        response = quota_api.post("/invitations", json=row())
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    emails = [quota_api.email_settled(invitation_id)["email"] for invitation_id in ids]
    assert [email["status"] for email in emails] == ["sent"] * 5
    assert quota_acs.throttled >= 2
    trail = [event["action"] for event in quota_api.invitation(ids[-1])["history"]]
    assert trail == ["created", "email-sent"], "a throttled try is neither a failure nor an event"
