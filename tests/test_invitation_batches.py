"""Bulk invitations against the real stack: POST /api/invitations/batch (JSON or CSV), the
invitation-batch queue workers, GET /api/invitations/batch/{id}."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from typing import Any

from azure.data.tables import UpdateMode

from shared.adapters.tables import BATCHES
from shared.adapters.tables.batches import HEADER_ROW, row_key
from shared.domain.batches import CHUNK_ROWS, TRANSACTION_ROWS, row_invitation_id
from shared.queue_names import INVITATION_BATCH
from tests.queues import Queues
from tests.storage import Stored
from tests.support import Api, Outbox, eventually, invitation_body, unique_email
from tools.localstack.stack import LocalStack
from web.batch_body import csv_columns

BATCH_SECONDS = 300.0  # 1,000 invitations, each with its e-mail queued, on a shared 2-core machine


def flatten(body: dict[str, Any], prefix: str = "") -> dict[str, str]:
    cells: dict[str, str] = {}
    for name, value in body.items():
        if isinstance(value, dict):
            cells.update(flatten(value, f"{prefix}{name}."))
        else:
            cells[prefix + name] = str(value)
    return cells


def as_csv(bodies: list[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(csv_columns()), lineterminator="\r\n")
    writer.writeheader()
    for body in bodies:
        writer.writerow(flatten(body))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # Excel's "CSV UTF-8" starts with a byte order mark


def post_batch(api: Api, body: Any, *, content_type: str = "application/json", **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post("/invitations/batch", data=data, headers={"Content-Type": content_type, **headers})


def completed(api: Api, location: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        response = api.session.get(api.base.removesuffix("/api") + location, timeout=30)
        assert response.status_code == 200, response.text
        batch: dict[str, Any] = response.json()
        return batch if batch["status"] == "completed" else None

    return eventually(done, f"batch {location} to complete", timeout)


def test_a_1000_row_csv_batch_completes_with_per_row_results(api: Api, stored: Stored, outbox: Outbox) -> None:
    bodies = [invitation_body() for _ in range(1000)]
    # Quoted fields: commas, quotes and a line break inside cells.
    bodies[0]["inviter"]["name"] = 'Mohamed-Nour, Tamer "TM"'
    bodies[1]["message"] = "Line one,\r\nline two"
    started = time.monotonic()
    response = post_batch(api, as_csv(bodies), content_type="text/csv")
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["total"] == 1000 and accepted["queued"] == 1000 and accepted["status"] == "queued"
    assert response.headers["Location"] == f"/api/invitations/batch/{accepted['id']}"

    batch = completed(api, response.headers["Location"], BATCH_SECONDS)
    print(f"1,000-row CSV batch: accepted in {response.elapsed.total_seconds():.2f} s, completed in {time.monotonic() - started:.1f} s")

    assert (batch["created"], batch["failed"], batch["rejected"], batch["queued"]) == (1000, 0, 0, 0)
    assert [row["index"] for row in batch["rows"]] == list(range(1000))
    for row, body in zip(batch["rows"], bodies, strict=True):
        assert row["status"] == "created" and row["errors"] == []
        assert row["invitationId"] == row_invitation_id(batch["id"], row["index"])
        assert row["email"] == body["invitee"]["email"]
    first = api.invitation(batch["rows"][0]["invitationId"])
    assert first["inviter"]["name"] == 'Mohamed-Nour, Tamer "TM"' and first["invitee"] == bodies[0]["invitee"]
    assert api.invitation(batch["rows"][1]["invitationId"])["message"] == "Line one,\r\nline two"
    # Each invitation is a single create's: its e-mail follows through the e-mail queue.
    outbox.wait_for(bodies[0]["invitee"]["email"])
    assert len(stored.rows_for_email(bodies[500]["invitee"]["email"])) == 1


def test_a_json_batch_with_bad_rows_is_refused_listing_every_bad_row(api: Api, stored: Stored) -> None:
    rows: list[Any] = [invitation_body() for _ in range(6)]
    rows[1]["invitee"]["email"] = "not-an-address"
    rows[3]["company"]["country"] = "XX"
    rows[3]["ttlDays"] = 99
    rows[4]["redirectUrl"] = "https://evil.example/start"  # the service's allow-list, as for a single create
    rows[5] = ["not", "an", "object"]
    response = post_batch(api, rows)
    assert response.status_code == 422, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    pointers = sorted(error["pointer"] for error in response.json()["errors"])
    assert pointers == ["/rows/1/invitee/email", "/rows/3/company/country", "/rows/3/ttlDays", "/rows/4/redirectUrl", "/rows/5"]
    assert stored.rows_for_email(rows[0]["invitee"]["email"]) == []


def test_lenient_handling_accepts_the_valid_rows_and_reports_the_others(api: Api) -> None:
    rows = [invitation_body() for _ in range(4)]
    rows[2]["company"]["phone"] = "12"
    response = post_batch(api, rows, Prefer="handling=lenient")
    assert response.status_code == 202, response.text
    assert response.headers["Preference-Applied"] == "handling=lenient"
    assert [row["status"] for row in response.json()["rows"]] == ["queued", "queued", "rejected", "queued"]

    batch = completed(api, response.headers["Location"])
    assert [row["status"] for row in batch["rows"]] == ["created", "created", "rejected", "created"]
    assert [error["pointer"] for error in batch["rows"][2]["errors"]] == ["/rows/2/company/phone"]
    assert batch["rows"][2]["invitationId"] is None
    assert (batch["created"], batch["rejected"]) == (3, 1)
    for row in (batch["rows"][0], batch["rows"][3]):
        assert api.invitation(row["invitationId"])["status"] == "pending"


def test_lenient_handling_with_no_valid_row_is_refused(api: Api) -> None:
    row = invitation_body()
    row["invitee"] = {}
    response = post_batch(api, [row], Prefer="handling=lenient")
    assert response.status_code == 422, response.text
    assert [error["pointer"] for error in response.json()["errors"]] == ["/rows/0/invitee/email", "/rows/0/invitee/displayName"]


def test_an_idempotency_key_replays_the_batch(api: Api, stored: Stored) -> None:
    key = f"crm-batch-{uuid.uuid4()}"
    rows = [invitation_body() for _ in range(3)]
    first = post_batch(api, rows, **{"Idempotency-Key": key})
    assert first.status_code == 202, first.text
    completed(api, first.headers["Location"])

    again = post_batch(api, rows, **{"Idempotency-Key": key})
    assert again.status_code == 202, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.json()["status"] == "completed"
    assert all(len(stored.rows_for_email(row["invitee"]["email"])) == 1 for row in rows)

    other = post_batch(api, rows[:2], **{"Idempotency-Key": key})
    assert other.status_code == 422, other.text


def test_a_redelivered_chunk_creates_no_second_invitation(api: Api, stored: Stored, queues: Queues) -> None:
    rows = [invitation_body() for _ in range(3)]
    response = post_batch(api, rows)
    assert response.status_code == 202, response.text
    batch = completed(api, response.headers["Location"])
    created = [row["invitationId"] for row in batch["rows"]]

    # As if the worker had created row 1's invitation and died before recording it: the
    # redelivered message creates it again with the same derived id and finds the first one.
    table = stored.table(BATCHES)
    entity = table.get_entity(batch["id"], row_key(1))
    table.update_entity({key: entity[key] for key in ("PartitionKey", "RowKey", "Index", "Request")}, mode=UpdateMode.REPLACE)
    assert api.get(f"/invitations/batch/{batch['id']}").json()["rows"][1]["status"] == "queued"
    queues.send_json(INVITATION_BATCH, {"batchId": batch["id"], "first": 0, "count": CHUNK_ROWS})

    again = completed(api, response.headers["Location"])
    assert [row["invitationId"] for row in again["rows"]] == created
    for row in rows:
        assert len(stored.rows_for_email(row["invitee"]["email"])) == 1
    assert stored.actions(created[1]).count("created") == 1


def test_a_batch_in_another_media_type_is_415(api: Api) -> None:
    response = post_batch(api, b"<invitations/>", content_type="application/xml")
    assert response.status_code == 415, response.text
    assert response.json()["type"].endswith("/unsupported-media-type")


def test_malformed_csv_and_unknown_columns_are_client_errors(api: Api) -> None:
    header = ",".join(csv_columns())
    short = post_batch(api, f"{header}\r\n{unique_email()},Anna\r\n".encode(), content_type="text/csv")
    assert short.status_code == 400 and "Row 0 has 2 fields" in short.json()["detail"]
    unknown = post_batch(api, b"invitee.email,invitee.shoeSize\r\na@contoso.example,42\r\n", content_type="text/csv")
    assert unknown.status_code == 422, unknown.text
    assert [error["pointer"] for error in unknown.json()["errors"]] == ["/header/1"]
    assert post_batch(api, b"\xff\xfe", content_type="text/csv").status_code == 400
    assert post_batch(api, {"rows": []}).status_code == 400
    too_many = post_batch(api, [{}] * 1001)
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["pointer"] == "/rows"


def test_an_unknown_batch_is_404_and_a_bad_id_400(api: Api) -> None:
    assert api.get(f"/invitations/batch/{uuid.uuid4()}").status_code == 404
    assert api.get("/invitations/batch/not-a-uuid").status_code == 400


def test_a_row_for_an_address_with_an_open_invitation_fails_naming_it_unless_deliberate(api: Api) -> None:
    """The single create's rule (one open invitation per address) holds for every row."""
    existing = api.invite()
    address = existing["invitee"]["email"]
    rows = [invitation_body(), invitation_body(), invitation_body(allowDuplicate=True)]
    for row in (rows[0], rows[2]):
        row["invitee"]["email"] = address
    response = post_batch(api, rows)
    assert response.status_code == 202, response.text
    batch = completed(api, response.headers["Location"])
    assert [row["status"] for row in batch["rows"]] == ["failed", "created", "created"]
    assert existing["id"] in str(batch["rows"][0]["errors"]) and batch["rows"][0]["invitationId"] is None


# -- the sweeper ------------------------------------------------------------------------------------


def outstanding_since(stored: Stored, batch_id: str) -> Any:
    """The header's OutstandingSince (the sweeper's filter), None once the hand-over is recorded."""
    return stored.table(BATCHES).get_entity(batch_id, HEADER_ROW).get("OutstandingSince")


def test_a_batch_whose_hand_over_was_lost_is_handed_over_by_the_sweeper(sweeping_stack: LocalStack) -> None:
    """Without an Idempotency-Key no retry addresses the batch: only the sweeper can hand it over."""
    api, stored, outbox = Api(sweeping_stack), Stored.of(sweeping_stack), Outbox(sweeping_stack.outbox)
    rows = [invitation_body() for _ in range(4)]
    rows[2]["company"]["phone"] = "12"  # rejected: no invitation
    sweeping_stack.stop_service("azurite-queue")  # the rows are stored, their chunk message cannot be sent
    response = post_batch(api, rows, Prefer="handling=lenient")
    assert response.status_code == 202, response.text  # stored: accepted, the sweeper hands it over
    accepted = response.json()
    sweeping_stack.kill_service("app")  # and the app dies right after
    assert outstanding_since(stored, accepted["id"]) is not None, "the batch is findable by the sweeper"

    sweeping_stack.start_service("azurite-queue")
    sweeping_stack.start_service("app")

    batch = completed(api, response.headers["Location"])
    assert [row["status"] for row in batch["rows"]] == ["created", "created", "rejected", "created"]
    for row, body in zip(batch["rows"], rows, strict=True):
        address = body["invitee"]["email"]
        if row["status"] == "rejected":
            assert stored.rows_for_email(address) == []
            continue
        assert row["invitationId"] == row_invitation_id(accepted["id"], row["index"])
        assert [entity["PartitionKey"] for entity in stored.rows_for_email(address)] == [row["invitationId"]]
        outbox.wait_for(address)
        assert stored.actions(row["invitationId"]).count("created") == 1
    eventually(lambda: outstanding_since(stored, accepted["id"]) is None, "the hand-over recorded")
    for body in (rows[0], rows[1], rows[3]):
        assert len(outbox.messages_to(body["invitee"]["email"])) == 1


def test_a_batch_whose_request_died_while_storing_its_rows_fails_every_row(sweeping_stack: LocalStack) -> None:
    """Rows the request never stored cannot be created: the sweeper fails them all, so the batch
    completes and a client that saw no 202 can submit it again without duplicates."""
    api, stored = Api(sweeping_stack), Stored.of(sweeping_stack)
    rows = [invitation_body() for _ in range(TRANSACTION_ROWS + 5)]
    sweeping_stack.stop_service("azurite-queue")
    response = post_batch(api, rows)
    assert response.status_code == 202, response.text
    batch_id = response.json()["id"]
    sweeping_stack.kill_service("app")
    # As if it had died after the first transaction (the header and rows 0-98): the later rows are gone.
    table = stored.table(BATCHES)
    for index in range(TRANSACTION_ROWS - 1, len(rows)):
        table.delete_entity(batch_id, row_key(index))

    sweeping_stack.start_service("azurite-queue")
    sweeping_stack.start_service("app")

    eventually(lambda: outstanding_since(stored, batch_id) is None, "the sweeper to record the batch as handed over")
    batch = api.get(f"/invitations/batch/{batch_id}").json()  # its outcomes were written before
    assert batch["status"] == "completed"
    assert (batch["total"], batch["failed"], batch["created"]) == (len(rows), len(rows), 0)
    assert [row["index"] for row in batch["rows"]] == list(range(len(rows)))
    assert all(row["status"] == "failed" and "submit the batch again" in row["errors"][0]["detail"] for row in batch["rows"])
    assert all(stored.rows_for_email(body["invitee"]["email"]) == [] for body in rows)
