"""The company page: the signed-in invitee checks sales' data and presses CREATE COMPANY."""

import azure.functions as func

bp = func.Blueprint()

# The feature modules register their functions on `bp` when imported.
from create_company import company_page, company_worker, welcome_page  # noqa: E402,F401
