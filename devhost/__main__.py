"""``python -m devhost``: serve the function app's HTTP functions on http://127.0.0.1:7071/api like ``func start``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import secrets
from pathlib import Path

import azure.functions as func
from devhost.wsgi import create_http_server, create_wsgi_app, load_route_prefix


def load_app(spec: str) -> tuple[func.FunctionApp, Path]:
    """Import ``module:attr``; returns the app and the folder holding its module (where host.json lives)."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attr or "app")
    if not isinstance(app, func.FunctionApp):
        raise SystemExit(f"{spec} is {type(app).__name__}, not azure.functions.FunctionApp")
    return app, Path(module.__file__ or ".").resolve().parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the func.FunctionApp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # azure-core logs every request and response header at INFO; the Functions host keeps them out too.
    logging.getLogger("azure").setLevel(logging.WARNING)

    app, root = load_app(args.app)
    prefix = load_route_prefix(root / "host.json")
    key = os.environ.get("FUNCTIONS_KEY")
    if not key:
        key = secrets.token_urlsafe(32)
        print(f"FUNCTIONS_KEY not set; generated key for FUNCTION/ADMIN routes: {key}", flush=True)
    wsgi_app = create_wsgi_app(app, prefix, functions_key=key)
    server = create_http_server(wsgi_app, args.host, args.port, args.threads)
    print(f"Dev host ready on http://{args.host}:{server.effective_port}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
