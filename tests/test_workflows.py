"""The GitHub workflows, checked offline: GitHub's workflow schema (check-jsonschema), zizmor's
security audits with every ignore explained, and what CI and deploy must do (README's test command;
OIDC sign-in with no stored credential, the Core Tools-shaped package, remote build, smoke test)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.tools import ROOT, run_tool

WORKFLOWS = ROOT / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(name: str) -> dict[str, Any]:
    raw: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as true
    return {("on" if key is True else str(key)): value for key, value in raw.items()}


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return found


def step_using(workflow: dict[str, Any], job: str, action: str) -> dict[str, Any]:
    matching = [s for s in steps(workflow, job) if s.get("uses", "").lower().startswith(action.lower() + "@")]
    assert len(matching) == 1, f"{job} must use {action} once"
    return matching[0]


def test_workflows_match_githubs_schema() -> None:
    files = sorted(str(p.relative_to(ROOT)) for p in WORKFLOWS.glob("*.yml"))
    assert files == [".github/workflows/ci.yml", ".github/workflows/deploy.yml"]
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_unexplained() -> None:
    result = run_tool("zizmor", "--offline", "--no-progress", ".github/workflows")
    assert result.returncode == 0, result.stdout + result.stderr
    for path in WORKFLOWS.glob("*.yml"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "zizmor: ignore[" in line:
                assert lines[number - 1].strip().startswith("#"), f"{path.name}:{number + 1}: say why above the ignore"


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_every_action_is_pinned_by_commit_and_checkout_keeps_no_token(name: str) -> None:
    workflow = load(name)
    for job_name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{name}/{job_name}: pin {step['uses']} by commit SHA"
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_ci_runs_the_readme_test_command_with_python_311_and_node_20_or_later() -> None:
    ci = load("ci.yml")
    assert "workflow_call" in ci["on"] and "pull_request" in ci["on"]
    job = ci["jobs"]["test"]
    assert job["container"].startswith("python:3.11-")
    node = step_using(ci, "test", "actions/setup-node")["with"]["node-version"]
    assert int(str(node).split(".")[0]) >= 20
    assert any(s.get("run") == "bash .ci/run" for s in steps(ci, "test"))
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().endswith("make test")


def test_deploy_signs_in_with_oidc_builds_the_package_deploys_and_smoke_tests() -> None:
    deploy = load("deploy.yml")
    text = (WORKFLOWS / "deploy.yml").read_text(encoding="utf-8")
    assert "secrets." not in text, "no stored credentials: azure/login exchanges the OIDC token"
    assert deploy["permissions"] == {}
    assert deploy["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    job = deploy["jobs"]["deploy"]
    assert job["needs"] == "test"
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    names = [s.get("uses", s.get("run", "")).split("@")[0] for s in job["steps"]]
    login = step_using(deploy, "deploy", "azure/login")["with"]
    assert set(login) == {"client-id", "tenant-id", "subscription-id"}
    assert all(value.startswith("${{ vars.") for value in login.values())
    build = next(s for s in job["steps"] if "tools.localstack.package_app" in s.get("run", ""))
    publish = step_using(deploy, "deploy", "Azure/functions-action")["with"]
    assert publish["package"] in build["run"] and publish["remote-build"] is True
    assert publish["sku"] == "flexconsumption"
    smoke = next(s for s in job["steps"] if "HEALTH_URL" in s.get("env", {}))
    assert smoke["env"]["HEALTH_URL"].endswith("/api/health")
    assert '"$status" = "200"' in smoke["run"] and "exit 1" in smoke["run"]
    # Last, once the app answers: the Event Grid subscription for ACS's delivery reports, to the
    # route and function the app registers, with the function key masked in the log.
    import function_app
    from tools.devhost import index

    reports = next(f for f in index(function_app.app) if f.get_function_name() == "acs_delivery_reports")
    subscribe = job["steps"][-1]
    assert subscribe["env"]["REPORTS_URL"].endswith(f"/api/{getattr(reports.get_trigger(), 'route', None)}")
    assert "--function-name acs_delivery_reports" in subscribe["run"] and "::add-mask::$key" in subscribe["run"]
    assert "Microsoft.Communication.EmailDeliveryReportReceived" in subscribe["run"] and "${{" not in subscribe["run"]
    # Order: build, sign in, publish, smoke test, subscribe.
    order = [names.index(n) for n in ("azure/login", "Azure/functions-action")]
    assert job["steps"].index(build) < order[0] < order[1] < job["steps"].index(smoke) < len(names) - 1
