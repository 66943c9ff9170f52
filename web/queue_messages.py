"""Queue-trigger glue: a message's JSON body as the model its queue carries."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeVar

import azure.functions as func

if TYPE_CHECKING:
    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")
log = logging.getLogger(__name__)


def message_body(message: func.QueueMessage, model: type[Model], queue: str) -> Model | None:
    """The body as `model`, or None when it is not one: retrying cannot fix a malformed message,
    so it is logged (where and what is wrong, never the values: a message may carry an address)
    and let go instead of poisoning the queue with it."""
    from pydantic import ValidationError  # on the first message: pydantic costs a cold start

    try:
        return model.model_validate_json(message.get_body())
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '(body)'}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        log.error("Dropped malformed %s message %s: %s", queue, message.id, problems)
        return None
