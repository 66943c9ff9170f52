"""The area's functions: importing the package registers each feature module's on `bp` (blueprint.py)."""

from invite_user import (
    batch_queue,
    batches_api,
    delivery_reports,
    email_queue,
    funnel_api,
    health,
    invitations_api,
    openapi_document,
    sweeper,
)
from invite_user.blueprint import bp

__all__ = [
    "batch_queue",
    "batches_api",
    "bp",
    "delivery_reports",
    "email_queue",
    "funnel_api",
    "health",
    "invitations_api",
    "openapi_document",
    "sweeper",
]
