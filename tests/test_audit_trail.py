"""Where an invitation's audit trail is stored, through the API and the Invitations table.

The trail lives in the invitation row (the `created` event in Data, later ones in the History
column), so a read is one point read and a step one guarded write. A History that would outgrow
Azure's 64 KiB string property moves to an archive row in the write that fills it, also when
several writes race for that, and still reads whole and in order.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.data.tables import UpdateMode

from shared.adapters.tables import INVITATIONS
from shared.adapters.tables.invitations import HISTORY_LIMIT, INVITATION_ROW
from shared.domain.models import AuditEvent, InvitationStatus
from tests.storage import Stored
from tests.support import Api
from tools.localstack.stack import LocalStack


def actions(view: dict[str, Any]) -> list[str]:
    return [event["action"] for event in view["history"]]


def partition(stored: Stored, invitation_id: str) -> dict[str, dict[str, Any]]:
    return {row["RowKey"]: row for row in stored.partition(INVITATIONS, invitation_id)}


def filler(count: int, start: datetime) -> list[dict[str, Any]]:
    """`count` stored audit events (a long life of resends), one second apart."""
    return [
        json.loads(
            AuditEvent(
                at=start + timedelta(seconds=n),
                action="email-resent",
                actor=f"staff-{n}@rconnect.example",
                from_status=InvitationStatus.PENDING,
                to_status=InvitationStatus.PENDING,
                detail=f"attempt {n}",
            ).model_dump_json()
        )
        for n in range(count)
    ]


def stored_length(trail: list[dict[str, Any]]) -> int:
    return len(json.dumps(trail, separators=(",", ":"), ensure_ascii=False))  # ASCII: UTF-16 units = characters


def nearly_full(api: Api, stored: Stored) -> tuple[str, list[dict[str, Any]]]:
    """A pending invitation, its e-mail sent, whose History is 50 characters short of the limit:
    the next event, whatever it is, does not fit."""
    invitation_id = api.invite()["id"]
    api.email_settled(invitation_id)
    table = stored.table(INVITATIONS)
    entity = table.get_entity(invitation_id, INVITATION_ROW)
    trail = json.loads(entity["History"])
    per_event = stored_length(filler(1, datetime.now(UTC)))
    trail += filler((HISTORY_LIMIT - stored_length(trail)) // per_event - 1, datetime.now(UTC) + timedelta(seconds=1))
    trail[-1]["detail"] += "." * (HISTORY_LIMIT - 50 - stored_length(trail))
    assert stored_length(trail) == HISTORY_LIMIT - 50
    entity["History"] = json.dumps(trail, separators=(",", ":"))
    table.update_entity(entity, mode=UpdateMode.REPLACE)
    return invitation_id, trail


def test_the_trail_lives_in_the_invitation_row(api: Api, stored: Stored) -> None:
    invitation_id = api.invite()["id"]
    api.email_settled(invitation_id)
    assert api.post(f"/invitations/{invitation_id}/revoke").status_code == 200
    rows = partition(stored, invitation_id)
    assert list(rows) == [INVITATION_ROW]  # no audit rows beside it
    assert [event["action"] for event in json.loads(rows[INVITATION_ROW]["History"])] == ["email-sent", "revoked"]
    assert actions(api.invitation(invitation_id)) == ["created", "email-sent", "revoked"]


def test_a_full_history_moves_to_an_archive_row_in_the_write_that_fills_it(api: Api, stored: Stored) -> None:
    invitation_id, trail = nearly_full(api, stored)
    assert list(partition(stored, invitation_id)) == [INVITATION_ROW]
    before = api.invitation(invitation_id)
    assert actions(before) == ["created", *[event["action"] for event in trail]]
    resent = api.post(f"/invitations/{invitation_id}/resend")
    assert resent.status_code == 200, resent.text

    rows = partition(stored, invitation_id)
    assert sorted(rows) == ["audit-archive-000000", INVITATION_ROW]
    assert json.loads(rows["audit-archive-000000"]["Data"]) == trail
    assert [event["action"] for event in json.loads(rows[INVITATION_ROW]["History"])] == ["email-resent"]
    assert rows[INVITATION_ROW]["ArchivedHistory"] == 1
    view = api.invitation(invitation_id)
    assert view["history"] == resent.json()["history"] == [*before["history"], resent.json()["history"][-1]]
    api.email_settled(invitation_id)
    assert actions(api.invitation(invitation_id))[-2:] == ["email-resent", "email-sent"]
    assert [event["action"] for event in stored.audit(invitation_id)] == actions(api.invitation(invitation_id))


@pytest.mark.parametrize("round_", range(3))
def test_racing_writes_archive_a_full_history_once(stack: LocalStack, api: Api, stored: Stored, round_: int) -> None:
    invitation_id, _ = nearly_full(api, stored)
    history_before = api.invitation(invitation_id)["history"]
    workers = 8
    start = threading.Barrier(workers)

    def race(n: int) -> requests.Response:
        start.wait(timeout=10)
        action = "revoke" if n % 2 else "resend"
        return requests.post(
            f"{stack.base_url}/api/invitations/{invitation_id}/{action}",
            headers={"x-functions-key": stack.config.functions_key},
            timeout=30,
        )

    with ThreadPoolExecutor(workers) as pool:
        responses = list(pool.map(race, range(workers)))
    assert all(response.status_code in (200, 409) for response in responses), [r.text for r in responses]
    assert sum(response.status_code == 200 for n, response in enumerate(responses) if n % 2) == 1  # one revoke

    rows = partition(stored, invitation_id)
    assert sorted(key for key in rows if key != INVITATION_ROW) == ["audit-archive-000000"]
    assert rows[INVITATION_ROW]["ArchivedHistory"] == 1
    view = api.email_settled(invitation_id)  # a resend that won is sent (or skipped, revoked) first
    # The trail before the race, then what the race wrote: one revoke, at most one resend, each once.
    assert view["history"][: len(history_before)] == history_before
    raced = actions(view)[len(history_before) :]
    assert raced.count("revoked") == 1 and raced.count("email-resent") <= 1
    assert set(raced) <= {"revoked", "email-resent", "email-sent", "email-failed"}, raced
    assert [event["action"] for event in stored.audit(invitation_id)] == actions(view)
