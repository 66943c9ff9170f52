"""The company page: the signed-in invitee checks sales' data and presses CREATE COMPANY.

The blueprint alone: the feature modules register their functions on it, and the package
(__init__.py) imports them, so no module imports one that imports it back."""

import azure.functions as func

bp = func.Blueprint()
