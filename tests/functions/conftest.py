"""Function tests: the blueprint functions called in-process with a func.HttpRequest, as
Microsoft's Functions Python testing guide shows (`function.build().get_user_function()(req)`),
against Azurite; no dev host, and a B2C nobody serves (or the local B2C on its own: `idp`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
import pytest

from shared.settings import get_settings
from shared.wiring import Services, clients, published_hints, services
from tests.azurite import Azurite
from tests.test_local_b2c import issuer_when_ready, start_idp
from tools.localstack.stack import free_port

APP_URL = "http://localhost:7071"  # the default PUBLIC_BASE_URL
CALLBACK = f"{APP_URL}/api/InviteUser/callback"


def call(function: Any, req: func.HttpRequest) -> func.HttpResponse:
    """Run a registered function (what @bp.route returned) on `req`."""
    user_function = function.build().get_user_function()
    response: func.HttpResponse = user_function(req)
    return response


def request(method: str, url: str, **kwargs: Any) -> func.HttpRequest:
    kwargs.setdefault("body", b"")
    return func.HttpRequest(method, f"http://localhost:7071{url}", **kwargs)


def configure(monkeypatch: pytest.MonkeyPatch, **settings: str) -> None:
    """App settings for the process's composition root, built afresh on the next call."""
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    clients.cache_clear()
    services.cache_clear()
    published_hints.cache_clear()


@pytest.fixture(scope="session")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("function-outbox")


@pytest.fixture(scope="session")
def app(azurite: Azurite, outbox: Path) -> Iterator[Services]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(
            monkeypatch,
            STORAGE=azurite.connection_string,
            OUTBOX_DIR=str(outbox),
            REDIRECT_ALLOWLIST="https://portal.rconnect.example",
            B2C_AUTHORITY_HOST=f"https://127.0.0.1:{free_port()}",  # nothing listens: B2C is down
            ENTRA_LOGIN_HOST=f"http://127.0.0.1:{free_port()}",  # nothing listens: tenant lookups fail (consent unknown)
        )
        yield services()
    get_settings.cache_clear()
    clients.cache_clear()
    services.cache_clear()


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The local B2C on its own (issuer host, CA file), for the app's callback under the default PUBLIC_BASE_URL."""
    folder = tmp_path_factory.mktemp("local-b2c")
    process = start_idp(folder, IDP_REDIRECT_URIS=CALLBACK)
    try:
        issuer = urlsplit(issuer_when_ready(process))
        yield f"{issuer.scheme}://{issuer.netloc}", folder / "certs" / "ca.pem"
    finally:
        process.terminate()
        process.wait(30)
