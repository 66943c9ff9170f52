"""The `invitation-batch` queue: create the invitations of a chunk of a batch's rows.

Messages are BatchChunk JSON ({"batchId", "first", "count"}), base64-encoded as host.json says.
A passing failure raises, so the host retries the message (rows already done are skipped); after
maxDequeueCount tries it lands in `invitation-batch-poison`, whose function fails the rows left.
"""

from __future__ import annotations

import logging

import azure.functions as func

from invite_user.blueprint import bp
from shared.composition import services
from shared.domain.batches import BatchChunk
from shared.domain.errors import NotFound
from shared.queue_names import INVITATION_BATCH
from web.queue_messages import message_body

log = logging.getLogger(__name__)


def _chunk(message: func.QueueMessage) -> BatchChunk | None:
    return message_body(message, BatchChunk, INVITATION_BATCH)


@bp.queue_trigger(arg_name="message", queue_name=INVITATION_BATCH, connection="STORAGE")
def create_batch_invitations(message: func.QueueMessage) -> None:
    chunk = _chunk(message)
    if chunk is None:
        return
    try:
        services().batches.work(chunk)
    except NotFound:
        log.error("Dropped %s message %s: batch %s does not exist", INVITATION_BATCH, message.id, chunk.batch_id)


@bp.queue_trigger(arg_name="message", queue_name=f"{INVITATION_BATCH}-poison", connection="STORAGE")
def fail_poisoned_invitation_batch(message: func.QueueMessage) -> None:
    chunk = _chunk(message)
    if chunk is not None:
        services().batches.fail_poisoned(chunk)
