"""Queue-trigger glue: a message's JSON body as the model its queue carries."""

from __future__ import annotations

import logging
from typing import TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from web.untrusted import what_is_wrong

Model = TypeVar("Model", bound="BaseModel")
log = logging.getLogger(__name__)


def message_body(message: func.QueueMessage, model: type[Model], queue: str) -> Model | None:
    """The body as `model`, or None when it is not one: retrying cannot fix a malformed message, nor
    one whose ids cannot be ours (the models type them, so none reaches a storage key), so it is
    logged (where and what is wrong, never the values) and let go instead of poisoning the queue."""
    try:
        return model.model_validate_json(message.get_body())
    except ValidationError as error:
        log.error("Dropped malformed %s message %s: %s", queue, message.id, what_is_wrong(error))
        return None
