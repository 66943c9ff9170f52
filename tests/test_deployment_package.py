"""The deployment package: built the way Core Tools builds it, it holds the app and nothing else,
and the app imports and indexes its functions from it in a clean virtual environment with only
requirements.txt installed (what the platform's remote build does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools.localstack.package_app import ROOT, CoreToolsIgnore, build_zip, candidate_files

APP_FILES = {"function_app.py", "host.json", "requirements.txt"}
# Never in the package, whatever the .funcignore becomes.
FORBIDDEN_TOP_LEVEL = {
    ".venv",
    ".venv-tools",
    "node_modules",
    ".local",
    ".git",
    ".github",
    ".ci",
    "tests",
    "tools",
    "infra",
    "docs",
    "test-artifacts",
    "dist",
    "local.settings.json",
    "local.settings.json.example",
}
FORBIDDEN_SUFFIXES = (".pem", ".key", ".pyc", ".eml")

# Runs in the clean venv: import the app as the Python worker does (app folder first on sys.path),
# index the functions, and report which of the app's own modules that loaded.
PROBE = """
import json, pkgutil, importlib, sys
app_dir = sys.argv[1]
sys.path.insert(0, app_dir)
import function_app
names = sorted(str(f.get_function_name()) for f in function_app.app.get_functions())
loaded = sorted({m.__name__.split(".")[0] for m in list(sys.modules.values())
                 if (getattr(m, "__file__", None) or "").startswith(app_dir + "/")})
for top in loaded:
    module = importlib.import_module(top)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), top + "."):
        importlib.import_module(info.name)
print(json.dumps({"functions": names, "packages": loaded}))
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("package")
    zip_path = folder / "app.zip"
    names = build_zip(ROOT, zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == names
        archive.extractall(folder / "app")
    return folder, names


def test_core_tools_ignore_port_matches_core_tools_own_unit_tests() -> None:
    # The cases of Core Tools' GitIgnoreParserTests.cs, so the port keeps its (non-git) semantics.
    parser = CoreToolsIgnore(
        "# comment\nnode_modules\n*.log\nnonexistent\n!/nonexistent/foo\n/baz\nfoo/*.wat\n/test1\ntest2\n"
        "othernonexistent/**/what\n!/othernonexistent/**/what/foo\n*.swp\n"
    )
    for accepted in (
        "test/index.js",
        "wat/test/index.js",
        "/othernonexistent/blah/adsasd/whatads",
        "/othernonexistent/blah/adsasd/what/foo",
        "test1File.wat",
        "nonexistent/foo",
        "nonexistent/foo/wat",
    ):
        assert parser.accepts(accepted), accepted
    for denied in (
        "test2",
        "test.swp",
        "node_modules/what.js",
        "foo/bar.wat",
        "othernonexistent/blah/what",
        "nonexistent",
        "nonexistent/bar",
        "test1",
    ):
        assert not parser.accepts(denied), denied
    assert CoreToolsIgnore("node_modules").accepts("test/index.js")
    assert not CoreToolsIgnore("node_modules").accepts("node_modules")


def test_package_holds_the_app_and_nothing_else(package: tuple[Path, list[str]]) -> None:
    _, names = package
    top_level = {name.split("/")[0] for name in names}
    assert top_level >= APP_FILES
    assert not top_level & FORBIDDEN_TOP_LEVEL
    assert not [n for n in names if n.endswith(FORBIDDEN_SUFFIXES) or "__pycache__" in n or "/fakes/" in n]
    # Everything else at the top is a Python package (checked below to be one the app imports).
    assert all((ROOT / entry / "__init__.py").is_file() for entry in top_level - APP_FILES)


def test_git_reads_the_funcignore_the_same_way(tmp_path: Path) -> None:
    # azd and functions-action read .funcignore with gitignore semantics; both readings must agree
    # on this checkout (a working one, with .venv, node_modules and .local present).
    walked = candidate_files(ROOT)
    core_tools = CoreToolsIgnore((ROOT / ".funcignore").read_text(encoding="utf-8"))
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    (tmp_path / ".git" / "info" / "exclude").write_text((ROOT / ".funcignore").read_text(encoding="utf-8"))
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin", "-z"],
        cwd=tmp_path,
        env=env,
        input="\0".join(walked).encode(),
        capture_output=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    git_ignored = set(filter(None, result.stdout.decode().split("\0")))
    disagreements = [p for p in walked if core_tools.accepts(p) == (p in git_ignored)]
    assert not disagreements, disagreements[:20]


def test_app_imports_and_indexes_from_the_package_in_a_clean_venv(package: tuple[Path, list[str]]) -> None:
    folder, names = package
    app_dir = folder / "app"
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "-r",
            str(app_dir / "requirements.txt"),
        ],
        check=True,
    )
    # -I: no user site, no PYTHONPATH, not the repository's folder; only the venv and the package.
    env = {"PATH": os.environ["PATH"], "HOME": str(folder)}
    probe = subprocess.run(
        [str(python), "-I", "-c", PROBE, str(app_dir)], cwd=app_dir, env=env, capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout.strip().splitlines()[-1])

    import function_app  # the same app, from the repository, with the development venv
    from tools.devhost import index  # indexed once per process

    assert report["functions"] == sorted(str(f.get_function_name()) for f in index(function_app.app))
    assert report["functions"]
    # The package's top level is exactly the three app files and the packages the app imports.
    assert {name.split("/")[0] for name in names} == APP_FILES | (set(report["packages"]) - {"function_app"})
