"""Publishing lifecycle events on the `invitation-events` queue, at least once.

A step's event is pending on the invitation from the write that takes the step (the same
guarded write) until a later write records it as published; meanwhile the invitation is
outstanding, so the sweeper re-publishes it. Publishing the same event again is harmless:
its id and content are those of its audit event.
"""

import logging
from collections.abc import Sequence

from shared.domain.errors import Unavailable
from shared.domain.events import event_for
from shared.domain.models import PendingEvent
from shared.queue_names import INVITATION_EVENTS
from shared.services.ports import QueueSender

log = logging.getLogger(__name__)


class EventPublisher:
    def __init__(self, queues: QueueSender) -> None:
        self.queues = queues

    def publish(self, invitation_id: str, pending: Sequence[PendingEvent]) -> bool:
        """Send the events in order; False (logged) if the queue is unreachable: they stay pending."""
        try:
            for event in pending:
                self.queues.send(INVITATION_EVENTS, event_for(invitation_id, event).model_dump(mode="json", by_alias=True))
        except Unavailable as error:
            log.warning("Events of invitation %s not published (%s); the sweeper will", invitation_id, error.detail)
            return False
        return True
