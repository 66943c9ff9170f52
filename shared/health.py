"""What /api/health reports: the settings, and whether each dependency answers. Nothing secret goes
into a result: setting names without values, error kinds and status codes without messages (an SDK
message may quote a URL with a SAS or a header).

Health answers within a tenth of a second even while a dependency hangs: each dependency has at most
one probe in flight, a call waits briefly for the probes it started, and a probe still running then
is reported by its last result until it has run longer than the dependency's own budget (then it is
"failed: no answer"). Only a process's first call, which has no last result, waits for its probes."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

from shared import composition
from shared.domain.errors import CheckFailed
from shared.settings import Settings, SettingsInvalid, get_settings

CHECK_SECONDS = 3.0  # a first call's wait; the storage clients give up within about 2 s themselves
ANSWER_SECONDS = 0.08  # how long a call waits for the probes in flight
HUNG_SECONDS = 2.5  # a probe running longer is a dependency that does not answer (its calls' budget is ~2 s)
Status = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class CheckResult:
    status: Status
    detail: str = ""
    duration_ms: int = 0


@dataclass(frozen=True)
class Report:
    checks: dict[str, CheckResult]
    retry_after_seconds: int

    @property
    def healthy(self) -> bool:
        return all(check.status == "ok" for check in self.checks.values())


def describe(error: BaseException) -> str:
    if isinstance(error, SettingsInvalid):
        return error.detail
    if isinstance(error, CheckFailed):
        return str(error)
    status = getattr(error, "status_code", None)  # the Azure SDKs' HttpResponseError and its kin
    if isinstance(status, int):
        code = getattr(error, "error_code", None)
        return f"{type(error).__name__}: HTTP {status}" + (f" {code}" if code else "")
    return type(error).__name__


def _tables() -> str:
    next(iter(composition.clients()[0].list_tables(results_per_page=1).by_page()), None)
    return "tables answer"


def _queues() -> str:
    next(iter(composition.clients()[1].list_queues(results_per_page=1).by_page()), None)
    return "queues answer"


def _timed(check: Callable[[], str]) -> CheckResult:
    started = time.monotonic()
    try:
        return CheckResult("ok", check(), round((time.monotonic() - started) * 1000))
    except Exception as error:  # any failure is the check's result, not the endpoint's
        return CheckResult("failed", describe(error), round((time.monotonic() - started) * 1000))


@dataclass
class _Probe:
    future: Future[CheckResult]
    started: float


class _Probes:
    """The dependencies' probes of this process: one in flight per dependency, and its last result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="health")
        self._running: dict[str, _Probe] = {}
        self._last: dict[str, CheckResult] = {}
        self._settings: Settings | None = None

    def check(self, settings: Settings, probes: dict[str, Callable[[], str]]) -> dict[str, CheckResult]:
        with self._lock:
            if settings is not self._settings:  # other settings (tests reconfigure a process): nothing known yet
                self._settings, self._last, self._running = settings, {}, {}
            for name, check in probes.items():
                if name not in self._running or self._running[name].future.done():
                    self._running[name] = _Probe(self._pool.submit(_timed, check), time.monotonic())
            running = {name: self._running[name] for name in probes}
            first = any(name not in self._last for name in probes)
        wait([probe.future for probe in running.values()], timeout=CHECK_SECONDS if first else ANSWER_SECONDS)
        results: dict[str, CheckResult] = {}
        with self._lock:
            for name, probe in running.items():
                waited = time.monotonic() - probe.started
                if probe.future.done():
                    results[name] = self._last[name] = probe.future.result()
                elif waited > HUNG_SECONDS or name not in self._last:
                    results[name] = CheckResult("failed", f"no answer for {waited:.1f} s", round(waited * 1000))
                else:
                    results[name] = self._last[name]
        return results


_probes = _Probes()


def run_checks() -> Report:
    try:
        settings = get_settings()
    except SettingsInvalid as error:
        skipped = CheckResult("skipped", "the settings are invalid")
        checks = {"settings": CheckResult("failed", describe(error)), **dict.fromkeys(("storage", "queues", "identity"), skipped)}
        return Report(checks, error.retry_after_seconds)
    probes: dict[str, Callable[[], str]] = {"storage": _tables, "queues": _queues, "identity": composition.identity_probe(settings)}
    return Report({"settings": CheckResult("ok", "valid"), **_probes.check(settings, probes)}, 30)
