"""Staff API: issue and manage invitations (auth level FUNCTION)."""

import azure.functions as func

bp = func.Blueprint()

# The feature modules register their functions on `bp` when imported.
from invite_user import (  # noqa: E402,F401
    batch_queue,
    batches_api,
    delivery_reports,
    email_queue,
    health,
    invitations_api,
    openapi_document,
    sweeper,
)
