"""The way into the composition root (shared/wiring.py), without paying for it at start-up.

Importing the app imports every function module, and each imports this one; the root imports the
Azure SDKs, MSAL, the stores and the services, which the Functions host's indexing never needs and
which cost about two thirds of a cold `import function_app` (`make bench`). So the root is imported
by the first call that asks for it, here and only here."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from azure.data.tables import TableServiceClient
    from azure.storage.queue import QueueServiceClient

    from shared.adapters.invitation_hints import InvitationHints
    from shared.settings import Settings
    from shared.wiring import Services


def services() -> Services:
    """The process's services (shared.wiring.services), built by the first request."""
    from shared import wiring

    return wiring.services()


def clients() -> tuple[TableServiceClient, QueueServiceClient]:
    """The process's storage clients (shared.wiring.clients), shared by the services and /api/health."""
    from shared import wiring

    return wiring.clients()


def published_hints() -> InvitationHints | None:
    """The id_token_hint keys and metadata (shared.wiring.published_hints)."""
    from shared import wiring

    return wiring.published_hints()


def identity_probe(settings: Settings) -> Callable[[], str]:
    """/api/health's check of the identity platform's metadata (shared.wiring.identity_probe)."""
    from shared import wiring

    return wiring.identity_probe(settings)
