"""``python -m tools.devhost``: run the function app like ``func start``.

HTTP functions on http://127.0.0.1:7071/api, queue triggers polling Azure Storage (Azurite
locally) and timer triggers, with the host.json settings the host honours (docs/reference/local-stack.md).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import azure.functions as func
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger

from tools.devhost.connections import queue_service
from tools.devhost.functions import index, resolve_setting
from tools.devhost.hostconfig import HostConfig, worker_threads
from tools.devhost.queues import LEASE_SECONDS, QueueFunction, QueueListener
from tools.devhost.timers import TimerFunction, TimerListener
from tools.devhost.wsgi import create_http_server, create_wsgi_app


def load_app(spec: str) -> tuple[func.FunctionApp, Path]:
    """Import ``module:attr``; returns the app and the folder holding its module (where host.json lives)."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attr or "app")
    if not isinstance(app, func.FunctionApp):
        raise SystemExit(f"{spec} is {type(app).__name__}, not azure.functions.FunctionApp")
    return app, Path(module.__file__ or ".").resolve().parent


def _show_dimensions(record: logging.LogRecord) -> bool:
    """Show the invitation a record is about (the app's log context, a custom dimension in Application Insights)."""
    invitation_id = getattr(record, "invitation_id", None)
    record.dimensions = f" [invitation {invitation_id}]" if invitation_id else ""
    return True


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # stop as on Ctrl+C: running functions finish first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.devhost", description=__doc__)
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the func.FunctionApp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    # As many requests at once as the worker has threads for sync functions: a hung dependency holds a
    # thread per request until its deadline, and the rest keep answering (docs/explanation/faults.md).
    parser.add_argument("--threads", type=int, default=worker_threads(), help="HTTP worker threads (default: the worker's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s%(dimensions)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_show_dimensions)
    # azure-core logs every request and response header at INFO; the Functions host keeps them out too.
    logging.getLogger("azure").setLevel(logging.WARNING)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Started from a background job, SIGINT arrives ignored and Python would keep it so: take it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    app, root = load_app(args.app)
    config = HostConfig.load(root / "host.json")
    functions = index(app)
    key = os.environ.get("FUNCTIONS_KEY")
    if not key:
        key = secrets.token_urlsafe(32)
        print(f"FUNCTIONS_KEY not set; generated key for FUNCTION/ADMIN routes: {key}", flush=True)
    server = create_http_server(create_wsgi_app(functions, config.route_prefix, functions_key=key), args.host, args.port, args.threads)

    stopping = threading.Event()
    # Non-HTTP functions run on a pool like the Python worker's (PYTHON_THREADPOOL_THREAD_COUNT).
    executor = ThreadPoolExecutor(max_workers=worker_threads(), thread_name_prefix="function")
    # The host leases a fetched message for 10 minutes; tests shorten it to see the renewal at work.
    lease_seconds = int(os.environ.get("DEVHOST_QUEUE_LEASE_SECONDS") or LEASE_SECONDS)
    listeners: list[QueueListener | TimerListener] = []
    for function in functions:
        trigger = function.get_trigger()
        name = str(function.get_function_name())
        if isinstance(trigger, QueueTrigger):
            queue = QueueFunction(name, str(trigger.name), resolve_setting(trigger.queue_name), function.get_user_function())
            service = queue_service(trigger.connection)
            listeners.append(QueueListener(queue, service, config.queues, executor, stopping, lease_seconds))
        elif isinstance(trigger, TimerTrigger):
            timer = TimerFunction(
                name, str(trigger.name), resolve_setting(trigger.schedule), bool(trigger.run_on_startup), function.get_user_function()
            )
            listeners.append(TimerListener(timer, executor, stopping))
        elif not function.is_http_function():
            raise SystemExit(f"Function {name}: the dev host does not run {type(trigger).__name__}")

    for listener in listeners:
        listener.start()
    print(f"Dev host ready on http://{args.host}:{server.effective_port}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        server.close()
        for listener in listeners:
            listener.join()
        executor.shutdown(wait=True)


if __name__ == "__main__":
    main()
