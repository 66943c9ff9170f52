"""host.json as the Functions host reads it: the settings the dev host honours, app-setting overrides included."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

# An app setting `AzureFunctionsJobHost__extensions__queues__batchSize` overrides host.json's value.
OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:\.(?P<f>\d{1,7}))?)?$")


def parse_timespan(text: str) -> timedelta:
    """A .NET TimeSpan as host.json and timer schedules write it: ``[d.]hh:mm[:ss[.fffffff]]``."""
    match = _TIMESPAN.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a TimeSpan ([d.]hh:mm[:ss[.fffffff]])")
    fraction = match["f"] or "0"
    return timedelta(
        days=int(match["days"] or 0),
        hours=int(match["h"]),
        minutes=int(match["m"]),
        seconds=int(match["s"] or 0) + int(fraction) / 10 ** len(fraction),
    )


def _seconds(value: Any, name: str) -> float:
    """TimeSpan string, or a number of milliseconds (the host's v1 form, still accepted)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / 1000
    if isinstance(value, str):
        return parse_timespan(value).total_seconds()
    raise ValueError(f"host.json {name}: {value!r} is not a TimeSpan")


def _key(section: Mapping[str, Any], key: str) -> str:
    """The spelling ``section`` uses for ``key``: .NET configuration keys are case-insensitive."""
    return next((name for name in section if name.lower() == key.lower()), key)


def _lookup(section: Mapping[str, Any], key: str) -> Any:
    return section.get(_key(section, key))


def _int(section: Mapping[str, Any], key: str, default: int) -> int:
    value = _lookup(section, key)
    return default if value is None else int(value)


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues`` with the Storage Queues extension's (v5) defaults."""

    batch_size: int = 16
    new_batch_threshold: int | None = None  # None: batch_size / 2 × processor count, as the host computes it
    max_polling_interval: float = 60.0  # seconds; polling backs off exponentially up to this when idle
    visibility_timeout: float = 0.0  # seconds a failed message stays invisible before its retry
    max_dequeue_count: int = 5
    message_encoding: str = "base64"  # or "none"

    @property
    def batch_threshold(self) -> int:
        if self.new_batch_threshold is not None:
            return self.new_batch_threshold
        return self.batch_size // 2 * (os.cpu_count() or 1)

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> QueueOptions:
        defaults = cls()
        batch_size = _int(section, "batchSize", defaults.batch_size)
        if not 1 <= batch_size <= 32:
            raise ValueError(f"host.json extensions.queues.batchSize must be 1..32, not {batch_size}")
        threshold = _lookup(section, "newBatchThreshold")
        polling = _lookup(section, "maxPollingInterval")
        visibility = _lookup(section, "visibilityTimeout")
        max_dequeue = _int(section, "maxDequeueCount", defaults.max_dequeue_count)
        if max_dequeue < 1:
            raise ValueError("host.json extensions.queues.maxDequeueCount must be greater than zero")
        encoding = str(_lookup(section, "messageEncoding") or defaults.message_encoding).lower()
        if encoding not in ("base64", "none"):
            raise ValueError(f"host.json extensions.queues.messageEncoding must be base64 or none, not {encoding!r}")
        return cls(
            batch_size=batch_size,
            new_batch_threshold=None if threshold is None else int(threshold),
            # The host refuses intervals under 100 ms.
            max_polling_interval=max(0.1, _seconds(polling, "maxPollingInterval"))
            if polling is not None
            else defaults.max_polling_interval,
            visibility_timeout=_seconds(visibility, "visibilityTimeout") if visibility is not None else 0.0,
            max_dequeue_count=max_dequeue,
            message_encoding=encoding,
        )


def worker_threads(environ: Mapping[str, str] | None = None) -> int:
    """How many sync invocations the Python worker runs at once: PYTHON_THREADPOOL_THREAD_COUNT threads
    (unset: its default, min(32, CPUs + 4)) in each of FUNCTIONS_WORKER_PROCESS_COUNT processes (1)."""
    env = os.environ if environ is None else environ
    threads = int(env.get("PYTHON_THREADPOOL_THREAD_COUNT") or min(32, (os.cpu_count() or 1) + 4))
    return threads * int(env.get("FUNCTIONS_WORKER_PROCESS_COUNT") or 1)


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = QueueOptions()

    @classmethod
    def load(cls, host_json: Path, environ: Mapping[str, str] | None = None) -> HostConfig:
        """host.json beside the app (absent: the host's defaults), then ``AzureFunctionsJobHost__…`` app settings."""
        document: dict[str, Any] = json.loads(host_json.read_text(encoding="utf-8")) if host_json.is_file() else {}
        for name, value in (os.environ if environ is None else environ).items():
            if name.startswith(OVERRIDE_PREFIX):
                *path, leaf = name[len(OVERRIDE_PREFIX) :].split("__")
                node = document
                for part in path:
                    node = node.setdefault(_key(node, part), {})
                node[_key(node, leaf)] = value
        extensions = _lookup(document, "extensions") or {}
        prefix = _lookup(_lookup(extensions, "http") or {}, "routePrefix")
        return cls(
            route_prefix="api" if prefix is None else str(prefix),
            queues=QueueOptions.from_section(_lookup(extensions, "queues") or {}),
        )
