"""Typed at the door, as pure functions: whatever shape Event Grid or a queue delivers, parsing
yields a typed value or a typed rejection, never an exception; an id becomes a value only as a
UUID in its canonical form, so nothing else ever reaches a storage key."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from invite_user.event_grid import Malformed, SubscriptionValidation, read_event
from shared.domain.batches import BatchChunk
from shared.domain.ids import Uuid
from shared.domain.models import CompanyCreateMessage, DeliveryReport, EmailIntent
from tests.door_shapes import DELIVERY_REPORT, SUBSCRIPTION_VALIDATION, delivery_events, ids, json_values, queue_bodies
from web.cookies import ConsentState, SignInInProgress
from web.queue_messages import message_body

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])


class Keyed(BaseModel):
    id: Uuid


@FUZZ
@given(value=ids())
def test_an_id_is_a_canonical_uuid_or_refused(value: Any) -> None:
    try:
        parsed = Keyed(id=value).id
    except ValidationError as error:
        assert all(item["type"] in ("string_type", "string_too_long", "value_error") for item in error.errors())
        return
    assert parsed == str(uuid.UUID(parsed)), "canonical: lower case, hyphenated"


@FUZZ
@given(event=delivery_events() | json_values())
def test_any_event_is_read_as_a_typed_event_or_a_typed_rejection(event: Any) -> None:
    read = read_event(event)
    assert read is None or isinstance(read, SubscriptionValidation | DeliveryReport | Malformed)
    if isinstance(read, DeliveryReport):
        assert read.operation_id == str(uuid.UUID(read.operation_id))
    if isinstance(read, Malformed):
        assert read.problems


@FUZZ
@given(details=json_values())
def test_a_report_with_details_of_any_shape_is_read_or_rejected_with_where_not_what(details: Any) -> None:
    operation_id = str(uuid.uuid4())
    event = {
        "id": "e",
        "eventType": DELIVERY_REPORT,
        "data": {"messageId": operation_id, "status": "Bounced", "deliveryStatusDetails": details},
    }
    read = read_event(event)
    if isinstance(read, Malformed):
        assert "deliveryStatusDetails" in read.problems
    else:
        assert isinstance(read, DeliveryReport) and read.operation_id == operation_id and read.state == "bounced"


def test_a_report_is_timed_by_its_delivery_attempt_else_by_its_event() -> None:
    operation_id = str(uuid.uuid4())
    data = {"messageId": operation_id, "status": "Bounced", "deliveryAttemptTimeStamp": "2030-03-05T12:00:05Z"}
    event = {"id": "e", "eventType": DELIVERY_REPORT, "eventTime": "2030-03-05T12:00:09.5+00:00", "data": data}
    assert read_event(event) == DeliveryReport(operation_id=operation_id, state="bounced", at=datetime(2030, 3, 5, 12, 0, 5, tzinfo=UTC))
    del data["deliveryAttemptTimeStamp"]
    read = read_event(event)
    assert isinstance(read, DeliveryReport) and read.at == datetime(2030, 3, 5, 12, 0, 9, 500000, tzinfo=UTC)
    event["eventTime"] = "2030-03-05T12:00:09"  # no offset: UTC, so it compares with the others
    read = read_event(event)
    assert isinstance(read, DeliveryReport) and read.at == datetime(2030, 3, 5, 12, 0, 9, tzinfo=UTC)
    event["eventTime"] = "yesterday"
    read = read_event(event)
    assert isinstance(read, Malformed) and read.problems.startswith("eventTime")


@pytest.mark.parametrize("message_id", ["a/b", "2d67f170-d060-442f-8975-2176404719d5#1", "x" * 2000, "", None, 42])
def test_a_report_whose_message_id_cannot_be_ours_is_rejected_without_its_value(message_id: object) -> None:
    read = read_event({"id": "e", "eventType": DELIVERY_REPORT, "data": {"messageId": message_id, "status": "Delivered"}})
    assert isinstance(read, Malformed) and read.problems.startswith("data.messageId: ")
    assert "a/b" not in read.problems and "xxxx" not in read.problems


def test_expanded_and_other_event_types_settle_nothing() -> None:
    expanded = {"id": "e", "eventType": DELIVERY_REPORT, "data": {"messageId": str(uuid.uuid4()), "status": "Expanded"}}
    assert read_event(expanded) is None
    assert read_event({"id": "e", "eventType": "Microsoft.Storage.BlobCreated", "data": {"url": "x"}}) is None


def test_a_subscription_validation_is_read_with_its_code() -> None:
    read = read_event({"id": "e", "eventType": SUBSCRIPTION_VALIDATION, "data": {"validationCode": "abc", "validationUrl": "https://x"}})
    assert isinstance(read, SubscriptionValidation) and read.data.validation_code == "abc"


@FUZZ
@given(model=st.sampled_from([EmailIntent, CompanyCreateMessage, BatchChunk]), body=queue_bodies())
def test_any_queue_message_is_its_model_or_dropped(model: type[BaseModel], body: bytes) -> None:
    parsed = message_body(func.QueueMessage(id="m", body=body), model, "q")
    assert parsed is None or isinstance(parsed, model)


@pytest.mark.parametrize(
    "build",
    [
        lambda invitation_id: SignInInProgress(invitation_id=invitation_id, flow={}),
        lambda invitation_id: ConsentState(invitation_id=invitation_id, tenant="contoso.example"),
    ],
    ids=["sign-in", "consent"],
)
def test_sealed_state_names_its_invitation_by_a_uuid(build: Any) -> None:
    invitation_id = uuid.uuid4()
    assert build(invitation_id.hex.upper()).invitation_id == str(invitation_id)
    with pytest.raises(ValidationError):
        build(f"{invitation_id}/x")


def test_a_dropped_message_is_logged_with_where_and_what_never_a_value_or_a_field_name_of_the_senders(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.dumps({"invitationId": "anna.keller@contoso.example/1", "sendId": str(uuid.uuid4()), "bob@contoso.example": 1})
    assert message_body(func.QueueMessage(id="m", body=body.encode()), EmailIntent, "q") is None
    assert caplog.messages == [
        "Dropped malformed q message m: invitationId: Value error, Input should be a UUID; (unknown field): Extra inputs are not permitted"
    ]
