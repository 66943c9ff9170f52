"""The offline checkers (checkov, pycep-parser, check-jsonschema, zizmor) run from .venv-tools, which
`./tools/localstack/bootstrap.sh --tools` (so `make test`) installs from requirements-tools.txt."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS_BIN = ROOT / ".venv-tools" / "bin"


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    executable = TOOLS_BIN / name
    assert executable.is_file(), f"{executable} is missing: run ./tools/localstack/bootstrap.sh --tools (make test does)"
    return subprocess.run([str(executable), *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
