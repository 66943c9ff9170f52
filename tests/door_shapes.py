"""Shapes of what comes in at the doors, for property tests: ids in every spelling and none, Event
Grid delivery-report events and queue message bodies, valid or anything but."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

DELIVERY_REPORT = "Microsoft.Communication.EmailDeliveryReportReceived"
SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
ACS_STATUSES = ["Delivered", "Expanded", "Bounced", "Suppressed", "Failed", "FilteredSpam", "Quarantined"]
FIELDS = ["invitationId", "sendId", "companyId", "batchId", "first", "count"]


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8
    )


def ids() -> st.SearchStrategy[Any]:
    """UUIDs in every spelling, near misses, the characters storage keys refuse, and anything else."""
    uuids = st.uuids()
    spelled = uuids.map(str) | uuids.map(lambda u: u.hex) | uuids.map(lambda u: str(u).upper()) | uuids.map(lambda u: f"{{{u}}}")
    unkeyable = st.builds(lambda u, c, at: str(u)[:at] + c + str(u)[at:], uuids, st.sampled_from("/#\\?\t\n\x00 "), st.integers(0, 36))
    return spelled | unkeyable | st.text(max_size=40) | json_values()


def delivery_events() -> st.SearchStrategy[Any]:
    details = json_values() | st.fixed_dictionaries({}, optional={"statusMessage": json_values()})
    data = st.fixed_dictionaries(
        {"messageId": ids(), "status": st.sampled_from(ACS_STATUSES) | json_values()},
        optional={"deliveryStatusDetails": details, "recipient": st.emails(), "deliveryAttemptTimeStamp": json_values()},
    )
    validation = st.fixed_dictionaries({}, optional={"validationCode": json_values(), "validationUrl": st.text(max_size=10)})
    event_type = st.sampled_from([DELIVERY_REPORT, SUBSCRIPTION_VALIDATION, "Microsoft.Storage.BlobCreated"]) | json_values()
    return st.fixed_dictionaries(
        {}, optional={"id": st.uuids().map(str) | json_values(), "eventType": event_type, "data": data | validation | json_values()}
    )


def queue_bodies() -> st.SearchStrategy[bytes]:
    """Bodies of every queue's messages: the fields they use, each any id or value, or any bytes."""
    fields = st.dictionaries(st.sampled_from(FIELDS), ids() | st.integers(-(2**70), 2**70), max_size=4)
    return (
        fields.map(lambda body: json.dumps(body).encode())
        | json_values().map(lambda value: json.dumps(value).encode())
        | st.binary(max_size=40)
    )
