"""Start the local stand-ins for Azure and the function app as real processes.

Azurite (Table and Queue Storage), the OpenID Connect provider playing Azure AD B2C or Entra
External ID (HTTPS with the project's local CA; `StackConfig.identity_platform`) and the dev
host serving function_app (HTTP, queue and timer triggers). Used by `make run` on the usual
ports and by the tests on free ports in a throwaway folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shared.domain.platforms import IdentityPlatform
from tools.localstack.diagnosis import describe_machine, describe_port, describe_process
from tools.localstack.hint_keys import ensure_hint_key
from tools.localstack.make_certs import ensure_certs

ROOT = Path(__file__).resolve().parents[2]
AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_SECONDS = 60
# Azurite writes its database on SIGINT (and otherwise only every 5 s): give it time to finish.
SAVE_SECONDS = 30
STORAGE_SERVICES = ("azurite-table", "azurite-queue")
# The staff's Entra ID tenant the local IdP plays (tools/idp/staff.mjs) and the audience of its staff API tokens.
STAFF_TENANT_ID = str(uuid.UUID(hashlib.sha256(b"tenant:rconnect.example").hexdigest()[:32]))
STAFF_API_AUDIENCE = "api://rconnect-invitations-local"
# Work-account domains whose tenant has not approved the app yet at the local IdP's start (one per test
# that approves it: the approval lasts as long as the IdP process).
CONSENT_REQUIRED_DOMAINS = ("needs-consent.example", "approval-pending.example", "approval-declined.example")
# The local IdP in each platform's shape (tools/idp/platforms.mjs) and the app settings that fit it.
LOCAL_EXTERNAL_TENANT_ID = str(uuid.UUID(hashlib.sha256(b"external-tenant:rconnectdev").hexdigest()[:32]))
PLATFORM_APP_SETTINGS: dict[IdentityPlatform, dict[str, str]] = {
    "b2c-user-flow": {"IDENTITY_PLATFORM": "b2c-user-flow", "B2C_USER_FLOW": "B2C_1_signupsignin"},
    "b2c-custom-policy": {"IDENTITY_PLATFORM": "b2c-custom-policy", "B2C_USER_FLOW": "B2C_1A_SIGNUP_SIGNIN"},
    "external-id": {"IDENTITY_PLATFORM": "external-id", "EXTERNAL_ID_TENANT": LOCAL_EXTERNAL_TENANT_ID},
}


def free_ports(count: int) -> list[int]:
    """Ports nothing uses now, all different: each probe stays bound until every port is chosen."""
    with ExitStack() as probes:
        ports = []
        for _ in range(count):
            probe = probes.enter_context(socket.socket())
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


def free_port() -> int:
    return free_ports(1)[0]


def azurite_connection_string(table_port: int, queue_port: int, *, scheme: str = "http") -> str:
    """Azurite's well-known development account with its table and queue endpoints on these ports."""
    return (
        f"DefaultEndpointsProtocol={scheme};AccountName=devstoreaccount1;AccountKey={AZURITE_ACCOUNT_KEY};"
        f"TableEndpoint={scheme}://127.0.0.1:{table_port}/devstoreaccount1;"
        f"QueueEndpoint={scheme}://127.0.0.1:{queue_port}/devstoreaccount1;"
    )


@dataclass
class StackConfig:
    data_dir: Path
    table_port: int = 10002
    queue_port: int = 10001
    idp_port: int = 8443
    app_port: int = 7071
    functions_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    app_env: dict[str, str] = field(default_factory=dict)  # extra or overriding app settings
    idp_env: dict[str, str] = field(default_factory=dict)  # extra or overriding settings of the local B2C (tools/idp)
    # The identity platform the local IdP plays and the app is configured for (IDENTITY_PLATFORM).
    identity_platform: IdentityPlatform = "b2c-custom-policy"  # the production shape (infra/b2c)
    extra_ca_files: tuple[Path, ...] = ()  # more CAs the app must trust (test fakes)
    # Azurite over HTTPS (the local CA's certificate) with `--oauth basic`: it then also takes bearer
    # tokens, checking their issuer, audience and lifetime, as the managed-identity tests need.
    storage_oauth: bool = False
    # How long a service may take from its spawn to serving; one that is still running but not
    # serving by then is diagnosed, killed and started once more (see LocalStack).
    startup_seconds: float = STARTUP_SECONDS

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs: object) -> StackConfig:
        ports = dict(zip(("table_port", "queue_port", "idp_port", "app_port"), free_ports(4), strict=True))
        return cls(data_dir, **ports, **kwargs)  # type: ignore[arg-type]


@dataclass
class _Service:
    command: list[str]
    env: dict[str, str]
    port: int  # where it serves: ready once it accepts connections there...
    ready_line: str | None = None  # ...or, if set, once the log (since this start) shows this line
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    log_start: int = 0  # where this start's output begins in the log
    spawned_at: float = 0.0  # time.monotonic() of this start
    started: bool = False


class LocalStack:
    """Context manager: processes up on enter (or an exception naming the log), down on exit.

    Services, by name: ``azurite-table``, ``azurite-queue``, ``idp``, ``app`` (the dev host).
    Fault tests can take one down and bring it back mid-flow with ``stop_service(name)`` and
    ``start_service(name)``; the name ``azurite`` means both storage services. Azurite is always
    stopped the way it saves its data (SIGINT, then waiting for it to exit), so a restart on the
    same folder finds every write that was acknowledged before the stop.

    A service that is still running but not serving ``config.startup_seconds`` after its spawn is
    described (its process state, its port, the machine's load: ``tools/localstack/diagnosis.py``), killed
    and started once more on the same port, with a RuntimeWarning saying so; if it stalls again,
    the start fails with both descriptions. One that exits while starting fails at once.
    """

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._services: dict[str, _Service] = {}
        self.logs = config.data_dir / "logs"
        self.session_secret = secrets.token_urlsafe(32)  # one per stack: a restarted app keeps its sessions

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.config.app_port}"

    @property
    def idp_url(self) -> str:
        return f"https://localhost:{self.config.idp_port}"

    @property
    def table_service_uri(self) -> str:
        return f"{'https' if self.config.storage_oauth else 'http'}://127.0.0.1:{self.config.table_port}/devstoreaccount1"

    @property
    def queue_service_uri(self) -> str:
        return f"{'https' if self.config.storage_oauth else 'http'}://127.0.0.1:{self.config.queue_port}/devstoreaccount1"

    @property
    def storage_connection_string(self) -> str:
        """Azurite's account with its table and queue endpoints (the app's ``STORAGE`` setting)."""
        scheme = "https" if self.config.storage_oauth else "http"
        return azurite_connection_string(self.config.table_port, self.config.queue_port, scheme=scheme)

    @property
    def outbox(self) -> Path:
        return self.config.data_dir / "outbox"

    @property
    def ca_bundle(self) -> Path:
        return self.config.data_dir / "ca-bundle.pem"

    def app_environment(self) -> dict[str, str]:
        """The app settings the dev host runs with (what local.settings.json holds for func start)."""
        return {
            "STORAGE": self.storage_connection_string,
            "AzureWebJobsStorage": self.storage_connection_string,  # the host's default trigger connection
            "PUBLIC_BASE_URL": self.base_url,
            **PLATFORM_APP_SETTINGS[self.config.identity_platform],
            "B2C_AUTHORITY_HOST": self.idp_url,
            "ENTRA_LOGIN_HOST": self.idp_url,
            "STAFF_API_AUDIENCE": STAFF_API_AUDIENCE,
            "STAFF_API_TENANT_ID": STAFF_TENANT_ID,
            "OUTBOX_DIR": str(self.outbox),
            "SESSION_SECRET": self.session_secret,
            "FUNCTIONS_KEY": self.config.functions_key,
            # MSAL and the ACS SDK use requests: trust the local CA the stand-ins' certificates come from.
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            "SWEEP_SCHEDULE": "0 * * * * *",  # the intent sweeper's timer: every minute, as in Azure
            "PYTHON_THREADPOOL_THREAD_COUNT": "32",  # the worker's threads, as infra/ sets them: the dev host's too
            # The id_token_hint's key, made once per data folder (Key Vault holds it in Azure); used with SIGN_IN_HINT=id_token_hint.
            "HINT_SIGNING_KEY": ensure_hint_key(self.config.data_dir / "hint").read_text(),
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
        node_bin = ROOT / "tools" / "node_modules" / ".bin"
        location = str(config.data_dir / "azurite")
        oauth = ["--oauth", "basic", "--cert", str(certs.cert), "--key", str(certs.key)] if config.storage_oauth else []
        for kind, port in (("table", config.table_port), ("queue", config.queue_port)):
            self._services[f"azurite-{kind}"] = _Service(
                [
                    str(node_bin / f"azurite-{kind}"),
                    f"--{kind}Host",
                    "127.0.0.1",
                    f"--{kind}Port",
                    str(port),
                    "--location",
                    location,
                    "--skipApiVersionCheck",
                    "--disableTelemetry",
                    *oauth,
                ],
                env={},
                port=port,
                stop_signal=signal.SIGINT,
            )
        self._services["idp"] = _Service(
            ["node", str(ROOT / "tools" / "idp" / "server.mjs")],
            env={
                "IDP_PORT": str(config.idp_port),
                "IDP_TLS_CERT": str(certs.cert),
                "IDP_TLS_KEY": str(certs.key),
                "IDP_REDIRECT_URIS": f"{self.base_url}/api/InviteUser/callback",
                "IDP_ADMIN_CONSENT_REDIRECT_URIS": f"{self.base_url}/api/AdminConsent/callback",
                # Local accounts survive a restart; verification codes are e-mailed to the app's outbox.
                "IDP_DATA_DIR": str(config.data_dir / "idp"),
                "IDP_OUTBOX_DIR": str(self.outbox),
                # The invitation policy reads the app's id_token_hint keys (sent with SIGN_IN_HINT=id_token_hint).
                "IDP_HINT_METADATA_URL": f"{self.base_url}/api/hint/.well-known/openid-configuration",
                "IDP_PLATFORM": config.identity_platform,
                "IDP_CONSENT_REQUIRED_DOMAINS": ",".join(CONSENT_REQUIRED_DOMAINS),
                "IDP_TENANT_ID": LOCAL_EXTERNAL_TENANT_ID,
                **({"IDP_USER_FLOW": policy} if (policy := PLATFORM_APP_SETTINGS[config.identity_platform].get("B2C_USER_FLOW")) else {}),
                **config.idp_env,
            },
            port=config.idp_port,
            ready_line="IdP ready at",
        )
        self._services["app"] = _Service(
            [sys.executable, "-m", "tools.devhost", "--port", str(config.app_port), "--host", "127.0.0.1"],
            env=self.app_environment(),
            port=config.app_port,
            ready_line="Dev host ready on",
            stop_signal=signal.SIGINT,  # the dev host finishes the functions it is running
        )
        for name in (*STORAGE_SERVICES, "idp"):
            self._spawn(name)
        for name in (*STORAGE_SERVICES, "idp"):
            self._wait(name)
        self.start_service("app")

    def stop(self) -> None:
        """Stop everything, the app first (it may still be writing) and Azurite last."""
        for name in reversed(self._services):
            self.stop_service(name)
        self._services.clear()

    def stop_service(self, name: str) -> None:
        """Stop one service (``azurite``: both storage services) and wait until it has exited."""
        for label in self._names(name):
            self._halt(label)

    def start_service(self, name: str) -> None:
        """Start a stopped service again, same ports and folder; returns once it serves."""
        for label in self._names(name):
            self._spawn(label)
        for label in self._names(name):
            self._wait(label)

    def kill_service(self, name: str) -> None:
        """SIGKILL one service, as a crash ends it: no clean shutdown, nothing finished."""
        for label in self._names(name):
            process = self._services[label].process
            if process is not None and process.poll() is None:
                process.kill()
            self._halt(label)

    def log_text(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def _names(self, name: str) -> tuple[str, ...]:
        names = STORAGE_SERVICES if name == "azurite" else (name,)
        unknown = [label for label in names if label not in self._services]
        if unknown:
            raise KeyError(f"no service {unknown[0]!r}; services: {', '.join(self._services)}")
        return names

    def _halt(self, name: str) -> None:
        service = self._services[name]
        process = service.process
        if process is not None and process.poll() is None:
            process.send_signal(service.stop_signal)
            try:
                process.wait(timeout=SAVE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if service.log is not None:
            service.log.close()
        service.process = service.log = None

    def _spawn(self, name: str) -> None:
        service = self._services[name]
        if service.process is not None and service.process.poll() is None:
            raise RuntimeError(f"{name} is already running")
        # A fresh log per stack; a restarted service appends to it.
        service.log = (self.logs / f"{name}.log").open("ab" if service.started else "wb")
        service.log_start = service.log.tell()
        service.spawned_at = time.monotonic()
        service.started = True
        # A session of its own: Ctrl+C in the terminal reaches run_local only, which then stops
        # each service in order (a second SIGINT would cut Azurite's save short).
        service.process = subprocess.Popen(
            service.command,
            cwd=ROOT,
            env={**os.environ, **service.env},
            stdout=service.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _wait(self, name: str) -> None:
        stalled = self._stalled(name)
        if stalled is None:
            return
        # A start that hangs once has not been traced to a cause (a CI run saw the IdP silent after
        # its first output line); a second start tells a passing hitch from a real hang.
        self.kill_service(name)  # it never served: nothing to save
        self._note(name, f"{stalled}\nkilled; starting {name} again")
        self._spawn(name)
        again = self._stalled(name)
        if again is not None:
            self.kill_service(name)
            raise RuntimeError(f"{name} did not start, twice:\n{stalled}\n{again}")
        warnings.warn(f"{name} started on the second try; the first: {stalled}", RuntimeWarning, stacklevel=2)

    def _stalled(self, name: str) -> str | None:
        """None once the service serves; what it is doing if it still does not at the deadline."""
        service = self._services[name]
        process = service.process
        assert process is not None
        deadline = service.spawned_at + self.config.startup_seconds
        while time.monotonic() < deadline:
            if self._ready(name, service):
                return None
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode} during start-up ({describe_port(service.port)}):\n"
                    f"{self.log_text(name)[-3000:]}"
                )
            time.sleep(0.1)
        output = self._output(name).decode(errors="replace")[-1500:]
        return (
            f"{name} did not start within {self.config.startup_seconds:g} s: {describe_process(process.pid)}; "
            f"{describe_port(service.port)}; {describe_machine()}; its output:\n{output}"
        )

    def _note(self, name: str, text: str) -> None:
        """A line of the harness's own in a service's log, between the output of two of its starts."""
        with (self.logs / f"{name}.log").open("ab") as log:
            log.write(f"\n[tools/localstack/stack.py] {text}\n".encode())

    def _ready(self, name: str, service: _Service) -> bool:
        if service.ready_line is None:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", service.port)) == 0
        return service.ready_line.encode() in self._output(name)

    def _output(self, name: str) -> bytes:
        """What the service wrote since its latest start."""
        with (self.logs / f"{name}.log").open("rb") as log:
            log.seek(self._services[name].log_start)
            return log.read()
