"""Build the deployment zip exactly as Core Tools' `func azure functionapp publish` (remote build) does.

Ported from azure-functions-core-tools (src/Cli/func): `FileSystemHelpers.GetLocalFiles` walks the
app folder, always leaving out `.git`/`.vscode` folders and `.funcignore`, `.gitignore`,
`local.settings.json`, `project.lock.json` files at any depth; every other file is kept unless
`GitIgnoreParser` (a port of codemix/gitignore-parser) denies its relative path. That parser is
not git's: each pattern is a regular expression anchored at the start of the path and ended by a
word boundary, so `tests` also denies `tests/x.py` but `__pycache__` only denies the top-level
folder. With a remote build the zip holds just these files; the platform installs requirements.txt.

The deploy workflow ships this zip, so what the package test checks is what gets deployed.
Usage: python -m tools.localstack.package_app [--output dist/app.zip]
"""

from __future__ import annotations

import argparse
import os
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALWAYS_IGNORED_DIRS = frozenset({".git", ".vscode"})
ALWAYS_IGNORED_FILES = frozenset({".funcignore", ".gitignore", "local.settings.json", "project.lock.json"})
_REGEX_SPECIALS = re.compile(r"[\-\[\]/\{\}\(\)\+\?\.\\\^\$\|]")
# Core Tools writes entries as Unix files with rw-rw-rw- so the platform can mount the zip.
_UNIX_RW = 0o100666 << 16


def _pattern_regex(pattern: str) -> str:
    escaped = _REGEX_SPECIALS.sub(lambda m: "\\" + m.group(0), pattern)
    return escaped.replace("**", "(.+)").replace("*", r"([^\/]+)")


class CoreToolsIgnore:
    """Core Tools' GitIgnoreParser: Accepts(path) = matches a negation or matches no pattern."""

    def __init__(self, content: str) -> None:
        positive: list[str] = []
        negative: list[str] = []
        for raw in content.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            target = positive
            if line.startswith("!"):
                target, line = negative, line[1:]
            target.append(line.removeprefix("/"))
        self._positive = self._compile(positive)
        self._negative = self._compile(negative)

    @staticmethod
    def _compile(patterns: list[str]) -> re.Pattern[str] | None:
        if not patterns:
            return None  # Core Tools uses /$^/, which matches nothing
        alternatives = ")|(".join(_pattern_regex(p) for p in sorted(patterns))
        return re.compile(rf"^(({alternatives}))\b", re.ASCII)

    def accepts(self, path: str) -> bool:
        if path == "/":
            path = ""
        if self._negative is not None and self._negative.match(path):
            return True
        return self._positive is None or not self._positive.match(path)


def candidate_files(root: Path) -> list[str]:
    """Every app-relative path (with /) Core Tools considers before reading .funcignore, sorted."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=True):  # .NET follows linked folders too
        dirs[:] = [d for d in dirs if d.lower() not in ALWAYS_IGNORED_DIRS]
        found.extend((Path(folder) / n).relative_to(root).as_posix() for n in files if n.lower() not in ALWAYS_IGNORED_FILES)
    return sorted(found)


def local_files(root: Path) -> list[str]:
    """The app-relative paths that Core Tools puts in the zip, sorted."""
    ignore_file = root / ".funcignore"
    if not ignore_file.is_file():
        return candidate_files(root)
    parser = CoreToolsIgnore(ignore_file.read_text(encoding="utf-8"))
    return [path for path in candidate_files(root) if parser.accepts(path)]


def build_zip(root: Path, output: Path) -> list[str]:
    output.parent.mkdir(parents=True, exist_ok=True)
    names = local_files(root)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo.from_file(root / name, arcname=name)
            info.external_attr = _UNIX_RW
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / name).read_bytes())
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "app.zip")
    args = parser.parse_args()
    names = build_zip(ROOT, args.output)
    print(f"{args.output}: {len(names)} files, {args.output.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
