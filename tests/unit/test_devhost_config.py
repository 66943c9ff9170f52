"""The dev host's readers of timer schedules (NCRONTAB, TimeSpan), host.json queue settings, trigger connections
and the worker's concurrency."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tools.devhost.connections import queue_service
from tools.devhost.hostconfig import HostConfig, QueueOptions, parse_timespan, worker_threads
from tools.devhost.timers import parse_schedule

WEDNESDAY = datetime(2026, 11, 25, 12, 3, 10, 500000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 */5 * * * *", datetime(2026, 11, 25, 12, 5, 0, tzinfo=UTC)),
        ("*/15 * * * * *", datetime(2026, 11, 25, 12, 3, 15, tzinfo=UTC)),
        ("10 3 12 * * *", datetime(2026, 11, 26, 12, 3, 10, tzinfo=UTC)),  # strictly after, so tomorrow
        ("0 30 9 * * 1-5", datetime(2026, 11, 26, 9, 30, tzinfo=UTC)),
        ("0 30 9 * * Sat,Sun", datetime(2026, 11, 28, 9, 30, tzinfo=UTC)),
        ("0 0 0 13 * 5", datetime(2027, 8, 13, tzinfo=UTC)),  # day AND day of week: Friday the 13th
        ("0 0 12 * Feb,MAR 0", datetime(2027, 2, 7, 12, tzinfo=UTC)),
        ("0 0 0 1 1 *", datetime(2027, 1, 1, tzinfo=UTC)),
        ("5/20 * * * * *", datetime(2026, 11, 25, 12, 3, 25, tzinfo=UTC)),
        ("0 0-10/5 13 * * *", datetime(2026, 11, 25, 13, 0, tzinfo=UTC)),
        ("*/5 * * * *", datetime(2026, 11, 25, 12, 5, 0, tzinfo=UTC)),  # five fields: minute first, second 0
    ],
)
def test_ncrontab_next_occurrence(schedule: str, expected: datetime) -> None:
    assert parse_schedule(schedule).next_after(WEDNESDAY) == expected


@pytest.mark.parametrize(
    "schedule",
    [
        "60 * * * * *",
        "* * 24 * * *",
        "0 0 0 0 * *",
        "* * * * 13 *",
        "*/0 * * * * *",
        "* * * * * * *",
        "0 0 0 30 2 *",
        "0 0 0 * Foo *",
        "every minute",
        "00:00:00",
    ],
)
def test_bad_schedules_are_refused(schedule: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(schedule)


def test_timespan_schedule_and_values() -> None:
    assert parse_schedule("00:05:00").next_after(WEDNESDAY) == WEDNESDAY + timedelta(minutes=5)
    assert parse_timespan("1.02:03:04.5") == timedelta(days=1, hours=2, minutes=3, seconds=4.5)
    assert parse_timespan("00:10") == timedelta(minutes=10)
    with pytest.raises(ValueError):
        parse_timespan("10 minutes")


def test_queue_defaults_are_the_hosts(tmp_path: Path) -> None:
    options = HostConfig.load(tmp_path / "host.json", {}).queues
    assert options == QueueOptions(
        batch_size=16, max_polling_interval=60.0, visibility_timeout=0.0, max_dequeue_count=5, message_encoding="base64"
    )
    assert options.batch_threshold > 0


def test_queue_settings_from_host_json_and_app_setting_overrides(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        '{"extensions": {"Queues": {"BatchSize": 4, "maxPollingInterval": 2000, "visibilityTimeout": "00:00:30",'
        ' "newBatchThreshold": 1, "messageEncoding": "None"}}}'
    )
    env = {"AzureFunctionsJobHost__extensions__queues__maxDequeueCount": "2"}
    options = HostConfig.load(tmp_path / "host.json", env).queues
    assert (options.batch_size, options.batch_threshold, options.max_polling_interval) == (4, 1, 2.0)
    assert (options.visibility_timeout, options.max_dequeue_count, options.message_encoding) == (30.0, 2, "none")


@pytest.mark.parametrize(
    "queues", ['{"batchSize": 64}', '{"messageEncoding": "utf8"}', '{"maxDequeueCount": 0}', '{"visibilityTimeout": "soon"}']
)
def test_invalid_queue_settings_are_refused(tmp_path: Path, queues: str) -> None:
    (tmp_path / "host.json").write_text(f'{{"extensions": {{"queues": {queues}}}}}')
    with pytest.raises(ValueError):
        HostConfig.load(tmp_path / "host.json", {})


def test_connection_settings_resolve_like_the_host() -> None:
    assert queue_service("STORAGE", {"STORAGE": "UseDevelopmentStorage=true"}).url.rstrip("/") == "http://127.0.0.1:10001/devstoreaccount1"
    connection = "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;EndpointSuffix=core.windows.net"
    assert queue_service("Jobs", {"AzureWebJobsJobs": connection, "Jobs": "UseDevelopmentStorage=true"}).account_name == "prod"
    assert queue_service(None, {"AzureWebJobsStorage": connection}).account_name == "prod"
    identity = queue_service("STORAGE", {"STORAGE__queueServiceUri": "https://prod.queue.core.windows.net"})
    assert (identity.url.rstrip("/"), type(identity.credential).__name__) == (
        "https://prod.queue.core.windows.net",
        "DefaultAzureCredential",
    )
    assert queue_service("S", {"S__accountName": "prod"}).url.rstrip("/") == "https://prod.queue.core.windows.net"
    with pytest.raises(SystemExit, match="STORAGE__queueServiceUri"):
        queue_service("STORAGE", {})


def test_the_dev_host_runs_as_many_functions_at_once_as_the_workers_threads() -> None:
    assert worker_threads({"PYTHON_THREADPOOL_THREAD_COUNT": "32"}) == 32
    assert worker_threads({"PYTHON_THREADPOOL_THREAD_COUNT": "16", "FUNCTIONS_WORKER_PROCESS_COUNT": "2"}) == 32
    assert worker_threads({}) == min(32, (os.cpu_count() or 1) + 4), "unset: the worker's default"
