"""The invitee's way in: the e-mail link, B2C sign-in and its callback, and admin consent (CASE 1)."""

import azure.functions as func

bp = func.Blueprint()

# The feature modules register their functions on `bp` when imported.
from accept_invitation import admin_consent, email_link, sign_in_callback  # noqa: E402,F401
