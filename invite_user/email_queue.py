"""The `invitation-email` queue: send the e-mail an invitation's guarded write recorded.

Messages are EmailIntent JSON ({"invitationId", "sendId"}), base64-encoded as host.json says.
A send that must wait for its place in ACS's quota, or that ACS throttled (429), is queued again
for then and this message completes: waiting never counts as a failed try. A passing failure (ACS
down, storage unreachable) raises, so the host makes the message visible again; after
maxDequeueCount tries the host moves it to `invitation-email-poison`, whose function records the
send as failed with the last error.
"""

from __future__ import annotations

import logging

import azure.functions as func

from invite_user.blueprint import bp
from shared.composition import services
from shared.domain.errors import DomainError
from shared.domain.models import EmailIntent
from shared.log_context import invitation_context
from shared.queue_names import INVITATION_EMAIL
from web.queue_messages import message_body

log = logging.getLogger(__name__)


def _intent(message: func.QueueMessage) -> EmailIntent | None:
    return message_body(message, EmailIntent, INVITATION_EMAIL)


@bp.queue_trigger(arg_name="message", queue_name=INVITATION_EMAIL, connection="STORAGE")
def send_invitation_email(message: func.QueueMessage) -> None:
    intent = _intent(message)
    if intent is None:
        return
    with invitation_context(intent.invitation_id):
        try:
            services().emails.send(intent)
        except DomainError as error:
            if error.retryable:
                raise  # the host retries the message, then poisons it
            log.error("E-mail %s of invitation %s not sent: %s", intent.send_id, intent.invitation_id, error)


@bp.queue_trigger(arg_name="message", queue_name=f"{INVITATION_EMAIL}-poison", connection="STORAGE")
def fail_poisoned_invitation_email(message: func.QueueMessage) -> None:
    intent = _intent(message)
    if intent is not None:
        with invitation_context(intent.invitation_id):
            services().emails.fail_poisoned(intent)
