"""The Functions app (Python v2 model): one blueprint per area of the product.

Importing it imports the whole app and indexes the functions; the settings are read, and the
services built, on the first request (only Azure Monitor waits until it is configured: shared/telemetry.py).
Invalid settings are reported by that request's answer (a 503 naming them) and by /api/health,
which logs them; the deploy workflow's smoke test calls it."""

import azure.functions as func

from accept_invitation import bp as accept_invitation
from create_company import bp as create_company
from invite_user import bp as invite_user
from shared import telemetry

telemetry.configure()  # before the first request; imports Azure Monitor only when it is configured
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (invite_user, accept_invitation, create_company):
    app.register_functions(blueprint)
