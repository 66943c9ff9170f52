"""A small function app for the dev host's trigger tests: what each function saw goes to a table.

Queue and table names come from app settings (``%NAME%`` binding expressions), so each dev host
process the tests start works on its own queues.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

import azure.functions as func
from azure.data.tables import TableClient

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _seen() -> TableClient:
    return TableClient.from_connection_string(os.environ["STORAGE"], os.environ["SEEN_TABLE"])


def _record(partition: str, row: str, **fields: object) -> None:
    _seen().upsert_entity({"PartitionKey": partition, "RowKey": row, **fields})


def _message_fields(msg: func.QueueMessage) -> dict[str, object]:
    return {
        "Body": msg.get_body().decode("utf-8"),
        "DequeueCount": msg.dequeue_count,
        "InsertionTime": msg.insertion_time.isoformat() if msg.insertion_time else "",
        "ExpirationTime": msg.expiration_time.isoformat() if msg.expiration_time else "",
        "NextVisible": msg.time_next_visible.isoformat() if msg.time_next_visible else "",
        "PopReceipt": msg.pop_receipt or "",
    }


@app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="STORAGE")
def work(msg: func.QueueMessage) -> None:
    _record("work", msg.id or "", **_message_fields(msg))


@app.queue_trigger(arg_name="msg", queue_name="%ASYNC_QUEUE%", connection="STORAGE")
async def work_async(msg: func.QueueMessage, context: func.Context) -> None:
    _record("async", msg.id or "", Function=context.function_name, **_message_fields(msg))


@app.queue_trigger(arg_name="msg", queue_name="%FAILING_QUEUE%", connection="STORAGE")
def always_fails(msg: func.QueueMessage) -> None:
    _record("failing", f"{msg.id}-{msg.dequeue_count}", **_message_fields(msg))
    raise RuntimeError("this function always fails")


@app.queue_trigger(arg_name="msg", queue_name="%SLOW_QUEUE%", connection="STORAGE")
def slow(msg: func.QueueMessage) -> None:
    """Runs as many seconds as the message says: longer than a short lease."""
    _record("slow", f"{msg.id}-{msg.dequeue_count}", **_message_fields(msg))
    time.sleep(float(msg.get_body()))


@app.timer_trigger(schedule="%TICK_SCHEDULE%", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    _record(
        "tick",
        os.urandom(8).hex(),
        Ran=datetime.now(UTC).isoformat(),
        PastDue=timer.past_due,
        # The worker's TimerRequest carries schedule_status; the abstract type does not declare it.
        Next=str(timer.schedule_status.get("Next", "")),  # type: ignore[attr-defined]
    )


@app.route(route="params", methods=["GET"])
def params(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(dict(req.params)), mimetype="application/json")
