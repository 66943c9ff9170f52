"""GET /api/health (anonymous): 200 when the settings are valid and storage, queues and the identity
platform (B2C or External ID, named in its check) answer,
else 503 with Retry-After; the result of each check either way. The deploy workflow's smoke test
calls it, so a misconfigured deployment fails its deployment instead of looking healthy."""

import json
import logging

import azure.functions as func

from invite_user.blueprint import bp
from shared import routes
from shared.health import run_checks

log = logging.getLogger(__name__)


@bp.route(route=routes.HEALTH, methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    report = run_checks()
    body = {
        "status": "healthy" if report.healthy else "unhealthy",
        "checks": {
            name: {"status": check.status, "detail": check.detail, "durationMs": check.duration_ms} for name, check in report.checks.items()
        },
    }
    headers = {"Cache-Control": "no-store"}
    if not report.healthy:
        failed = {name: check.detail for name, check in report.checks.items() if check.status == "failed"}
        log.error("Unhealthy: %s", failed)
        headers["Retry-After"] = str(report.retry_after_seconds)
    return func.HttpResponse(
        json.dumps(body), status_code=200 if report.healthy else 503, mimetype="application/json", charset="utf-8", headers=headers
    )
