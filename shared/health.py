"""What /api/health reports: the settings, and whether each dependency answers, each check within
a few seconds. Nothing secret goes into a result: setting names without values, error kinds and
status codes without messages (an SDK message may quote a URL with a SAS or a header)."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

import requests
from azure.core.exceptions import HttpResponseError

from shared.composition import clients
from shared.settings import Settings, SettingsInvalid, get_settings

CHECK_SECONDS = 5.0  # each check's budget; the storage clients give up within about 2 s themselves
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


def _describe(error: BaseException) -> str:
    if isinstance(error, SettingsInvalid):
        return error.detail
    if isinstance(error, IdentityMetadataFailed):
        return str(error)
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        code = getattr(error, "error_code", None)
        return f"{type(error).__name__}: HTTP {error.status_code}" + (f" {code}" if code else "")
    return type(error).__name__


def _tables() -> str:
    next(iter(clients()[0].list_tables(results_per_page=1).by_page()), None)
    return "tables answer"


def _queues() -> str:
    next(iter(clients()[1].list_queues(results_per_page=1).by_page()), None)
    return "queues answer"


def _identity_metadata(settings: Settings) -> Callable[[], str]:
    """The configured platform (its name, not its secrets) and whether its OpenID configuration answers."""

    def check() -> str:
        platform = f"{settings.identity_platform} at {settings.identity_authority_url}"
        try:
            response = requests.get(settings.identity_metadata_url, timeout=(2, 3))
            response.raise_for_status()
            if "issuer" not in response.json():
                raise ValueError("no issuer in the OpenID configuration")
        except Exception as error:
            raise IdentityMetadataFailed(f"{platform}: {_describe(error)}") from error
        return f"{platform}: OpenID configuration answers"

    return check


class IdentityMetadataFailed(Exception):
    """The identity platform's check failed; its message names the platform and the error's kind."""


def _timed(check: Callable[[], str]) -> CheckResult:
    started = time.monotonic()
    try:
        return CheckResult("ok", check(), round((time.monotonic() - started) * 1000))
    except Exception as error:  # any failure is the check's result, not the endpoint's
        return CheckResult("failed", _describe(error), round((time.monotonic() - started) * 1000))


def run_checks() -> Report:
    try:
        settings = get_settings()
    except SettingsInvalid as error:
        skipped = CheckResult("skipped", "the settings are invalid")
        checks = {"settings": CheckResult("failed", _describe(error)), **dict.fromkeys(("storage", "queues", "identity"), skipped)}
        return Report(checks, error.retry_after_seconds)
    probes: dict[str, Callable[[], str]] = {"storage": _tables, "queues": _queues, "identity": _identity_metadata(settings)}
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="health")
    futures = {name: pool.submit(_timed, probe) for name, probe in probes.items()}
    wait(futures.values(), timeout=CHECK_SECONDS)
    pool.shutdown(wait=False, cancel_futures=True)  # a hung check must not hold the answer
    checks = {"settings": CheckResult("ok", "valid")}
    for name, future in futures.items():
        timed_out = CheckResult("failed", f"no answer within {CHECK_SECONDS:g} s", int(CHECK_SECONDS * 1000))
        checks[name] = future.result() if future.done() else timed_out
    return Report(checks, 30)
