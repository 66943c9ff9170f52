"""EventPublisher over the in-memory queue: a step's lifecycle events go out in order as CloudEvents,
and a queue that cannot be reached leaves them pending (False) instead of failing the step."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.events import EVENT_TYPE_PREFIX, pending_for
from shared.domain.models import AuditEvent, InvitationStatus, PendingEvent, SignedInUser
from shared.queue_names import INVITATION_EVENTS
from shared.services.events import EventPublisher
from tests.unit.services.conftest import Fakes

ANNA = SignedInUser(object_id="oid-anna", email="anna@contoso.example", name="Anna", account_type="work")


def pending(fakes: Fakes) -> list[PendingEvent]:
    now = fakes.clock()
    created = AuditEvent(at=now, action="created", actor="staff", to_status=InvitationStatus.PENDING)
    accepted = AuditEvent(
        at=now + timedelta(minutes=1),
        action="accepted",
        actor="invitee",
        from_status=InvitationStatus.PENDING,
        to_status=InvitationStatus.ACCEPTED,
        account=ANNA,
    )
    return [*pending_for(created), *pending_for(accepted)]


def test_events_go_out_in_order_as_cloud_events_whose_id_is_the_steps(fakes: Fakes) -> None:
    events = pending(fakes)
    assert EventPublisher(fakes.queues).publish("inv-1", events)
    sent = fakes.queues.messages(INVITATION_EVENTS)
    assert [(m["id"], m["type"], m["subject"]) for m in sent] == [
        (f"inv-1/{events[0].key}", EVENT_TYPE_PREFIX + "created", "inv-1"),
        (f"inv-1/{events[1].key}", EVENT_TYPE_PREFIX + "accepted", "inv-1"),
    ]
    assert (sent[1]["specversion"], sent[1]["data"]["previousStatus"], sent[1]["data"]["account"]["objectId"]) == (
        "1.0",
        "pending",
        "oid-anna",
    )


def test_publishing_again_sends_the_same_events(fakes: Fakes) -> None:
    publisher, events = EventPublisher(fakes.queues), pending(fakes)
    publisher.publish("inv-1", events)
    publisher.publish("inv-1", events)  # the sweeper re-publishing what was pending
    first, second = fakes.queues.messages(INVITATION_EVENTS)[:2], fakes.queues.messages(INVITATION_EVENTS)[2:]
    assert first == second, "consumers dedupe by id"


def test_a_queue_that_cannot_be_reached_leaves_the_events_pending(fakes: Fakes) -> None:
    fakes.queues.go_down(INVITATION_EVENTS)
    assert EventPublisher(fakes.queues).publish("inv-1", pending(fakes)) is False
    assert fakes.queues.messages(INVITATION_EVENTS) == []


def test_nothing_pending_is_nothing_to_send(fakes: Fakes) -> None:
    assert EventPublisher(fakes.queues).publish("inv-1", [])
    assert fakes.queues.messages(INVITATION_EVENTS) == []
