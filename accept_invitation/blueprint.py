"""The invitee's way in: the e-mail link, B2C sign-in and its callback, and admin consent (CASE 1).

The blueprint alone: the feature modules register their functions on it, and the package
(__init__.py) imports them, so no module imports one that imports it back."""

import azure.functions as func

bp = func.Blueprint()
