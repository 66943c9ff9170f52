"""The company-create queue worker and its poison-queue handler.

The message names a completion recorded on the invitation; the worker writes the company and
its admin membership from it (deterministic keys, so a redelivery is harmless). After host.json's
maxDequeueCount failures the host moves the message to `company-create-poison`, and the
completion is marked `failed` with the last error, visible in the API and the history. A message
that is not a CompanyCreateMessage is logged and dropped by either (web/queue_messages.py).
"""

from __future__ import annotations

import logging

import azure.functions as func

from create_company.blueprint import bp
from shared.composition import services
from shared.domain.models import CompanyCreateMessage
from shared.log_context import invitation_context
from shared.queue_names import COMPANY_CREATE
from web.queue_messages import message_body

log = logging.getLogger(__name__)


def _completion(msg: func.QueueMessage) -> CompanyCreateMessage | None:
    return message_body(msg, CompanyCreateMessage, COMPANY_CREATE)


@bp.queue_trigger(arg_name="msg", queue_name=COMPANY_CREATE, connection="STORAGE")
def create_company_from_completion(msg: func.QueueMessage) -> None:
    message = _completion(msg)
    if message is None:
        return
    with invitation_context(message.invitation_id):
        try:
            services().companies.create_from_completion(message)
        except Exception as error:
            services().companies.note_error(message, f"{type(error).__name__}: {error}")
            raise  # the host retries it, then moves it to the poison queue


@bp.queue_trigger(arg_name="msg", queue_name=f"{COMPANY_CREATE}-poison", connection="STORAGE")
def company_creation_poisoned(msg: func.QueueMessage) -> None:
    message = _completion(msg)
    if message is None:
        return
    with invitation_context(message.invitation_id):
        log.error("company-create for invitation %s poisoned after %s attempts", message.invitation_id, msg.dequeue_count)
        services().companies.creation_failed(message)
