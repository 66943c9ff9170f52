"""/api/health answers promptly while a dependency hangs: one probe in flight per dependency, the
last result until the probe has run past the dependency's budget, then "no answer"."""

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from shared import health
from shared.settings import Settings


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    released = threading.Event()
    yield released
    released.set()  # never leave a probe thread waiting


def hanging(gate: threading.Event, calls: list[str]) -> Callable[[], str]:
    def probe() -> str:
        calls.append("called")
        if not gate.wait(10):
            raise TimeoutError
        return "answers"

    return probe


def test_a_hung_dependency_is_reported_by_its_last_result_then_as_not_answering(
    settings: Settings, gate: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "HUNG_SECONDS", 0.3)
    probes = health._Probes()
    assert probes.check(settings, {"storage": lambda: "answers"})["storage"].status == "ok"

    calls: list[str] = []
    started = time.monotonic()
    stale = probes.check(settings, {"storage": hanging(gate, calls)})["storage"]
    assert time.monotonic() - started < 0.2, "the answer does not wait for the hung probe"
    assert (stale.status, stale.detail) == ("ok", "answers")

    time.sleep(0.35)
    started = time.monotonic()
    hung = probes.check(settings, {"storage": hanging(gate, calls)})["storage"]
    assert time.monotonic() - started < 0.2
    assert hung.status == "failed" and hung.detail.startswith("no answer for ")
    assert calls == ["called"], "one probe in flight per dependency: the hung one is not started again"

    gate.set()
    time.sleep(0.05)
    assert probes.check(settings, {"storage": lambda: "answers"})["storage"].status == "ok"


def test_a_first_call_waits_for_its_probes(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow() -> str:
        time.sleep(0.15)
        return "answers"

    assert health._Probes().check(settings, {"storage": slow})["storage"].status == "ok"


def test_a_failing_probe_is_failed_with_its_kind(settings: Settings) -> None:
    def refused() -> str:
        raise ConnectionRefusedError

    result = health._Probes().check(settings, {"queues": refused})["queues"]
    assert (result.status, result.detail) == ("failed", "ConnectionRefusedError")


def test_other_settings_know_nothing_yet(settings: Settings, gate: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "CHECK_SECONDS", 0.3)
    probes = health._Probes()
    assert probes.check(settings, {"storage": lambda: "answers"})["storage"].status == "ok"
    other = Settings()
    started = time.monotonic()
    result = probes.check(other, {"storage": hanging(gate, [])})["storage"]
    assert result.status == "failed", "no last result for these settings: not reported healthy"
    assert time.monotonic() - started >= health.CHECK_SECONDS - 0.1
