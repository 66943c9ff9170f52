"""The Functions app (Python v2 model): one blueprint per area of the product."""

import logging

import azure.functions as func

from accept_invitation.blueprint import bp as accept_invitation
from create_company.blueprint import bp as create_company
from invite_user.blueprint import bp as invite_user
from shared import telemetry
from shared.settings import SettingsInvalid, get_settings

telemetry.configure()  # before the first request; imports Azure Monitor only when it is configured
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (invite_user, accept_invitation, create_company):
    app.register_functions(blueprint)

try:
    get_settings()
except SettingsInvalid as invalid:
    # Not raised: the functions still index, so /api/health can answer 503 naming the settings and
    # every other route a 503; this line lands in the host log (and Application Insights) at start-up.
    logging.getLogger(__name__).error("%s", invalid.detail)
