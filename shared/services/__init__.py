"""One way into each use case: every trigger (HTTP today, queue and timer next) calls these.

Services receive their stores, sender, links and clock by constructor (see shared/composition.py),
so a test can build one in-process against Azurite.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

Clock = Callable[[], datetime]


class InvitationLinks(Protocol):
    """The public URLs an invitation refers to (shared.routes.Links)."""

    def redeem(self, invitation_id: str) -> str: ...

    def admin_consent_help(self, invitation_id: str | None = None) -> str: ...

    def welcome(self) -> str: ...
