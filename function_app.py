"""The Functions app (Python v2 model): one blueprint per area of the product."""

import azure.functions as func

from accept_invitation.blueprint import bp as accept_invitation
from create_company.blueprint import bp as create_company
from invite_user.blueprint import bp as invite_user

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
for blueprint in (invite_user, accept_invitation, create_company):
    app.register_functions(blueprint)
