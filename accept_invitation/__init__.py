"""The area's functions: importing the package registers each feature module's on `bp` (blueprint.py)."""

from accept_invitation import admin_consent, email_link, hint_metadata, sign_in_callback
from accept_invitation.blueprint import bp

__all__ = ["admin_consent", "bp", "email_link", "hint_metadata", "sign_in_callback"]
