"""The one layer rule import-linter cannot state (it names no external subpackage): shared/ is the
product without HTTP, so nothing in it imports azure.functions. The others are pyproject.toml's contracts."""

import ast
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_shared_never_imports_azure_functions() -> None:
    offenders = {
        str(path.relative_to(SHARED)): sorted(
            m for m in imported_modules(path) if m == "azure.functions" or m.startswith("azure.functions.")
        )
        for path in SHARED.rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_check_sees_an_import_of_azure_functions(tmp_path: Path) -> None:
    for source in ("from azure import functions\n", "import azure.functions as func\n", "from azure.functions import HttpRequest\n"):
        module = tmp_path / "m.py"
        module.write_text("import os\n" + source)
        assert "azure.functions" in imported_modules(module), source
