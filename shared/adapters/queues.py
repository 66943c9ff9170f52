"""Azure Storage Queues: JSON messages encoded as the Functions host's queue trigger expects.

host.json's `extensions.queues.messageEncoding` defaults to base64, so messages are
base64-encoded text; a missing queue is created on the first send instead of failing it.
"""

import json
from contextlib import suppress
from typing import Any

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient, TextBase64EncodePolicy

from shared.adapters.tables import storage_errors


class QueueSender:
    def __init__(self, service: QueueServiceClient) -> None:
        self._service = service
        self._clients: dict[str, QueueClient] = {}

    def _client(self, queue: str) -> QueueClient:
        if queue not in self._clients:
            self._clients[queue] = self._service.get_queue_client(queue, message_encode_policy=TextBase64EncodePolicy())
        return self._clients[queue]

    def send(self, queue: str, message: dict[str, Any], *, visibility_timeout: int | None = None) -> str:
        """Enqueue `message` as JSON; returns the queue message id."""
        client, text = self._client(queue), json.dumps(message)
        with storage_errors(f"Queue {queue}"):
            try:
                return str(client.send_message(text, visibility_timeout=visibility_timeout).id)
            except ResourceNotFoundError:
                with suppress(ResourceExistsError):
                    client.create_queue()
                return str(client.send_message(text, visibility_timeout=visibility_timeout).id)
