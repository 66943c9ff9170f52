"""Start the local stand-ins for Azure and the function app as real processes.

Azurite (Table Storage), the OpenID Connect provider playing Azure AD B2C (HTTPS with
the project's local CA) and the dev host serving function_app on waitress. Used by
`make run` on the usual ports and by the tests on free ports in a throwaway folder.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from scripts.make_certs import ensure_certs

ROOT = Path(__file__).resolve().parent.parent
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class StackConfig:
    data_dir: Path
    table_port: int = 10002
    idp_port: int = 8443
    app_port: int = 7071
    functions_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    app_env: dict[str, str] = field(default_factory=dict)  # extra or overriding app settings
    extra_ca_files: tuple[Path, ...] = ()  # more CAs the app must trust (test fakes)

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs: object) -> StackConfig:
        return cls(data_dir, table_port=free_port(), idp_port=free_port(), app_port=free_port(), **kwargs)  # type: ignore[arg-type]


class LocalStack:
    """Context manager: processes up on enter (or an exception naming the log), down on exit."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._processes: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        self.logs = config.data_dir / "logs"

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.config.app_port}"

    @property
    def idp_url(self) -> str:
        return f"https://localhost:{self.config.idp_port}"

    @property
    def tables_connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.config.table_port}/devstoreaccount1;"
        )

    @property
    def outbox(self) -> Path:
        return self.config.data_dir / "outbox"

    @property
    def ca_bundle(self) -> Path:
        return self.config.data_dir / "ca-bundle.pem"

    def app_environment(self) -> dict[str, str]:
        """The app settings the dev host runs with (what local.settings.json holds for func start)."""
        return {
            "TABLES_CONNECTION_STRING": self.tables_connection_string,
            "PUBLIC_BASE_URL": self.base_url,
            "B2C_AUTHORITY_HOST": self.idp_url,
            "ENTRA_LOGIN_HOST": self.idp_url,
            "OUTBOX_DIR": str(self.outbox),
            "SESSION_SECRET": secrets.token_urlsafe(32),
            "FUNCTIONS_KEY": self.config.functions_key,
            # MSAL and the ACS SDK use requests: trust the local CA the stand-ins' certificates come from.
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            **self.config.app_env,
        }

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        config = self.config
        self.logs.mkdir(parents=True, exist_ok=True)
        certs = ensure_certs(config.data_dir / "certs")
        self.ca_bundle.write_text("".join(path.read_text() for path in (certs.ca, *config.extra_ca_files)))
        node_bin = ROOT / "node_modules" / ".bin"
        self._spawn(
            "azurite",
            [str(node_bin / "azurite-table"), "--tableHost", "127.0.0.1", "--tablePort", str(config.table_port),
             "--location", str(config.data_dir / "azurite"), "--skipApiVersionCheck", "--disableTelemetry"],
            env={},
        )
        self._spawn(
            "idp",
            ["node", str(ROOT / "idp" / "server.mjs")],
            env={
                "IDP_PORT": str(config.idp_port),
                "IDP_TLS_CERT": str(certs.cert),
                "IDP_TLS_KEY": str(certs.key),
                "IDP_REDIRECT_URIS": f"{self.base_url}/api/InviteUser/callback",
                "IDP_ADMIN_CONSENT_REDIRECT_URIS": f"{self.base_url}/api/AdminConsent/callback",
            },
        )
        self._wait_for_port("azurite", config.table_port)
        self._wait_for_log("idp", "IdP ready at")
        self._spawn(
            "app",
            [sys.executable, "-m", "devhost", "--port", str(config.app_port), "--host", "127.0.0.1"],
            env=self.app_environment(),
        )
        self._wait_for_log("app", "Dev host ready on")

    def stop(self) -> None:
        for _, process, _ in reversed(self._processes):
            if process.poll() is None:
                process.terminate()
        for _, process, log in reversed(self._processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()
        self._processes.clear()

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self._processes.append((name, process, log))

    def _process(self, name: str) -> subprocess.Popen[bytes]:
        return next(process for label, process, _ in self._processes if label == name)

    def _wait(self, name: str, ready: object) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if ready():  # type: ignore[operator]
                return
            if self._process(name).poll() is not None:
                raise RuntimeError(f"{name} exited during start-up:\n{self.log_text(name)[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not start within {STARTUP_SECONDS} s:\n{self.log_text(name)[-3000:]}")

    def _wait_for_port(self, name: str, port: int) -> None:
        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        self._wait(name, listening)

    def _wait_for_log(self, name: str, line: str) -> None:
        self._wait(name, lambda: line in self.log_text(name))
