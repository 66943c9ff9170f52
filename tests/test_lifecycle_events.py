"""Lifecycle events for downstream systems: CloudEvents 1.0 JSON on the `invitation-events` queue.

The test session is the consumer (tests/queues.py `EventLog`). Every event is checked against
the CloudEvents attributes, against the schema the OpenAPI document publishes for it, and
against the audit row it reports: its id is `{invitationId}/{audit row key}`, so a
re-delivery (the sweeper re-publishing, a worker retried) carries the same id and content.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema_rs
import pytest
from azure.data.tables import UpdateMode

from tests.fakes.acs_email_server import AcsEmailFake
from tests.queues import COMPANY_CREATE, EventLog, Queues
from tests.storage import Stored
from tests.support import STAFF_ADMIN, Api, eventually, user_token
from tests.test_company_creation import completion_settled
from tests.test_invitee_pages import invite, signed_in  # noqa: F401  (invite is a fixture)
from tools.localstack.stack import LocalStack

PREFIX = "com.rconnect.invitation."
# The audit action each event type reports.
ACTIONS = {
    f"{PREFIX}created": "created",
    f"{PREFIX}email.sent": "email-sent",
    f"{PREFIX}email.delivered": "email-delivered",
    f"{PREFIX}email.bounced": "email-bounced",
    f"{PREFIX}accepted": "accepted",
    f"{PREFIX}completed": "completed",
    f"{PREFIX}revoked": "revoked",
    f"{PREFIX}reset": "redemption-reset",
}


@pytest.fixture(scope="module")
def event_schema(stack: LocalStack) -> jsonschema_rs.Validator:
    """The event schema as the OpenAPI document publishes it (components.schemas.InvitationEvent)."""
    api = Api(stack)
    document = api.get("/openapi.json").json()
    assert "InvitationEvent" in document["components"]["schemas"]
    return jsonschema_rs.validator_for({"$ref": "#/components/schemas/InvitationEvent", "components": document["components"]})


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_events(events: EventLog, stored: Stored, schema: jsonschema_rs.Validator, invitation_id: str) -> dict[str, dict[str, Any]]:
    """Every event delivered about the invitation is a valid CloudEvent reporting one of its audit
    rows, each re-delivery equal to the first; the distinct events by id."""
    audit = stored.audit_by_key(invitation_id)
    deliveries = events.deliveries(invitation_id)
    assert deliveries, f"no event about {invitation_id}"
    first: dict[str, dict[str, Any]] = {}
    for raw, event in deliveries:
        errors = [str(error) for error in schema.iter_errors(event)]
        assert errors == [], (errors, raw)
        assert event["specversion"] == "1.0" and event["source"] == "/invitations"
        assert event["subject"] == invitation_id and event["datacontenttype"] == "application/json"
        assert event["type"].startswith(PREFIX), event
        owner, _, row_key = event["id"].partition("/")
        assert owner == invitation_id and row_key in audit, (event["id"], sorted(audit))
        row = audit[row_key]
        if event["type"] in ACTIONS:
            assert row["action"] == ACTIONS[event["type"]], (event["type"], row)
        assert when(event["time"]) == when(row["at"])
        data = event["data"]
        assert data["invitationId"] == invitation_id and data["action"] == row["action"]
        assert data["status"] == row["to_status"] and data["previousStatus"] == row["from_status"]
        assert data["actor"] == row["actor"]
        # At least once, never two versions of one event.
        assert first.setdefault(event["id"], event) == event, (first[event["id"]], event)
    return first


def of_type(events: dict[str, dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [event for event in events.values() if event["type"] == PREFIX + name]


def one(events: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    [event] = of_type(events, name)
    return event


def test_a_completed_invitation_publishes_created_email_sent_accepted_completed_as_cloudevents(
    api: Api, invite: Any, stored: Stored, events: EventLog, event_schema: jsonschema_rs.Validator
) -> None:
    invitee = signed_in(invite)
    assert invitee.submit(invitee.company_form()).status_code == 303
    completion_settled(api, invitee.id)
    names = ["created", "email.sent", "accepted", "completed"]
    events.wait_for(invitee.id, [PREFIX + name for name in names])
    published = check_events(events, stored, event_schema, invitee.id)
    created, sent, accepted, completed = (one(published, name) for name in names)
    assert when(created["time"]) < when(sent["time"]) < when(accepted["time"]) < when(completed["time"])
    entity = stored.invitation(invitee.id)["data"]
    account = entity["accepted_by"]
    expected_account = {"objectId": account["object_id"], "email": account["email"], "accountType": account["account_type"]}
    assert created["data"]["status"] == "pending" and created["data"]["previousStatus"] is None
    assert accepted["data"]["account"] == expected_account and accepted["data"]["status"] == "accepted"
    assert completed["data"]["account"] == expected_account and completed["data"]["status"] == "completed"
    assert completed["data"]["companyId"] == entity["company_id"]
    assert sent["data"]["sendId"] == entity["email"]["send_id"] and created["data"]["sendId"] == sent["data"]["sendId"]


def test_a_revocation_is_published_once_and_a_refused_one_publishes_nothing(
    stack: LocalStack, api: Api, invite: Any, stored: Stored, events: EventLog, event_schema: jsonschema_rs.Validator
) -> None:
    invitee = invite()
    staff = {"Authorization": f"Bearer {user_token(stack)}"}
    assert api.post(f"/invitations/{invitee.id}/revoke", headers=staff).status_code == 200
    assert api.post(f"/invitations/{invitee.id}/revoke").status_code == 409
    events.wait_for(invitee.id, [f"{PREFIX}created", f"{PREFIX}revoked"])
    revoked = one(check_events(events, stored, event_schema, invitee.id), "revoked")
    assert revoked["data"]["status"] == "revoked" and revoked["data"]["previousStatus"] == "pending"
    assert revoked["data"]["actor"] == STAFF_ADMIN


def test_a_reset_and_each_acceptance_are_published_with_their_own_ids(
    api: Api, invite: Any, stored: Stored, events: EventLog, event_schema: jsonschema_rs.Validator
) -> None:
    invitee = signed_in(invite)
    assert api.post(f"/invitations/{invitee.id}/reset").status_code == 200
    assert invitee.sign_in(kind="local").status_code == 302

    def accepted_twice() -> bool:
        return sum(name == f"{PREFIX}accepted" for name in events.types(invitee.id)) == 2

    eventually(accepted_twice, "the second acceptance's event")
    events.wait_for(invitee.id, [f"{PREFIX}reset"])
    published = check_events(events, stored, event_schema, invitee.id)
    reset = one(published, "reset")
    first, second = sorted(of_type(published, "accepted"), key=lambda event: when(event["time"]))
    assert when(first["time"]) < when(reset["time"]) < when(second["time"])
    assert reset["data"]["status"] == "pending" and reset["data"]["previousStatus"] == "accepted"
    assert first["data"]["account"]["accountType"] == "work" and second["data"]["account"]["accountType"] == "local"


def test_a_redelivered_company_message_publishes_no_new_event(
    api: Api, invite: Any, stored: Stored, queues: Queues, events: EventLog, event_schema: jsonschema_rs.Validator
) -> None:
    invitee = signed_in(invite)
    assert invitee.submit(invitee.company_form()).status_code == 303
    message = {"invitationId": invitee.id, "companyId": stored.invitation(invitee.id)["data"]["company_id"]}
    for _ in range(2):
        queues.send_json(COMPANY_CREATE, message)
    completion_settled(api, invitee.id)
    queues.wait_until_drained(COMPANY_CREATE)
    events.wait_for(invitee.id, [f"{PREFIX}completed"])
    published = check_events(events, stored, event_schema, invitee.id)
    one(published, "completed")  # however often it was delivered, one id
    assert {event["type"] for event in published.values()} <= {PREFIX + name for name in ("created", "email.sent", "accepted", "completed")}


def test_an_expiry_is_reported_once_by_the_sweeper_and_a_resend_renews_it(
    sweeping_stack: LocalStack, event_schema: jsonschema_rs.Validator
) -> None:
    api, stored = Api(sweeping_stack), Stored.of(sweeping_stack)
    events = EventLog(Queues.of(sweeping_stack))
    invitation_id = api.invite()["id"]
    # Two days pass: the stored expiry (model, list column, and the sweeper's column) moves into the past.
    past = datetime.now(UTC) - timedelta(days=2)
    stored.rewrite(invitation_id, expires_at=past)
    invitations = stored.table("Invitations")
    entity = invitations.get_entity(invitation_id, "invitation")
    invitations.update_entity({**entity, "ExpiryUnreported": past}, mode=UpdateMode.REPLACE)

    events.wait_for(invitation_id, [f"{PREFIX}expired"])
    expired = one(check_events(events, stored, event_schema, invitation_id), "expired")
    assert expired["data"]["status"] == "expired" and expired["data"]["actor"] == "expiry"
    eventually(lambda: "ExpiryUnreported" not in invitations.get_entity(invitation_id, "invitation"), "the expiry recorded as reported")
    assert stored.actions(invitation_id).count("expired") == 1

    renewed = api.post(f"/invitations/{invitation_id}/resend")
    assert renewed.status_code == 200, renewed.text
    assert invitations.get_entity(invitation_id, "invitation")["ExpiryUnreported"] > datetime.now(UTC)  # reported when it passes


@pytest.mark.parametrize(("report", "name"), [("Delivered", "email.delivered"), ("Bounced", "email.bounced")])
def test_acs_delivery_reports_are_published_as_email_events(
    acs_stack: LocalStack, acs_fake: AcsEmailFake, event_schema: jsonschema_rs.Validator, report: str, name: str
) -> None:
    api, stored = Api(acs_stack), Stored.of(acs_stack)
    events = EventLog(Queues.of(acs_stack))
    acs_fake.reset()
    acs_fake.subscribe(f"{acs_stack.base_url}/api/events/acs?code={acs_stack.config.functions_key}")
    sent = api.invite()
    assert acs_fake.report([sent["email"]["operationId"]], report, "550 5.1.1 mailbox unknown").status_code == 200

    events.wait_for(sent["id"], [PREFIX + name])
    reported = one(check_events(events, stored, event_schema, sent["id"]), name)
    assert reported["data"]["sendId"] == sent["email"]["sendId"]
    if name == "email.bounced":
        assert reported["data"]["detail"] and "mailbox unknown" in reported["data"]["detail"]
