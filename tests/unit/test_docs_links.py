"""The documentation holds together: every relative Markdown link in README.md and docs/ points to a
file that exists (and to a heading it has, when it names one), every file of the repository it names
in code (`shared/settings.py`) exists, and README.md stays a short entry point (the rest belongs in docs/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 150
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"`([^`\n]*)`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:, ...
# A path in the repository's own folders; what the stack makes at run time (.local/, test-artifacts/) is not one.
_REPO_PATH = re.compile(r"^(?:\.github|infra|tests|shared|web|tools|invite_user|accept_invitation|create_company|docs)/[\w./-]*$")


def _prose(text: str) -> str:
    """The text without fenced code blocks (a `# comment` there is no heading, `[a](b)` no link)."""
    return _FENCE.sub("", text)


def anchors(page: Path) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces as hyphens,
    a repeated heading numbered."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_prose(page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(page: Path) -> list[str]:
    text = _CODE_SPAN.sub("", _prose(page.read_text(encoding="utf-8")))
    # A generator's template ({{name}}) is filled in later; its output is checked as a page of its own.
    return [target for target in _LINK.findall(text) if not _EXTERNAL.match(target) and "{{" not in target]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor}")
    return broken


def missing_paths(page: Path, root: Path = ROOT) -> list[str]:
    """Repository paths the page names in code spans (`tests/test_guide.py`) that do not exist: a file
    moved or renamed since the page was written."""
    named = _CODE_SPAN.findall(_prose(page.read_text(encoding="utf-8")))
    return [path for path in named if _REPO_PATH.match(path) and not (root / path).exists()]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_named_repository_path_exists(page: Path) -> None:
    assert missing_paths(page) == []


def test_readme_is_an_entry_point() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines: move the detail to docs/"


def test_the_check_finds_a_broken_link_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Title\n\n## Second part\n\n```bash\n# not a heading\n```\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#second-part) [gone](missing.md) [no heading](other.md#not-a-heading)\n"
        "[web](https://example.com) `[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == ["missing.md: no such file", "other.md#not-a-heading: no heading #not-a-heading"]


def test_the_check_finds_a_moved_file(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_here.py").write_text("", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text("`tests/test_here.py`, `tests/test_gone.py`, `.local/outbox/`, `tests/x.py --flag`\n", encoding="utf-8")
    assert missing_paths(page, root=tmp_path) == ["tests/test_gone.py"]
