"""docs/guide/ is what `make guide` makes of its templates: every step in every language, every
image it shows committed (the screenshots themselves change with every run, so they are not compared)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import scripts.guide as guide
from scripts.guide import DOCS, GUIDE_LANGUAGES, PLACEHOLDER, STEPS, TEMPLATES, image, render

_IMAGE = re.compile(r"!\[[^\]]+\]\(([^)]+)\)")


@pytest.mark.parametrize("language", GUIDE_LANGUAGES)
def test_the_committed_guide_is_generated_from_its_template(language: str) -> None:
    assert (DOCS / f"{language}.md").read_text(encoding="utf-8") == render(language), "run `make guide`"


@pytest.mark.parametrize("language", GUIDE_LANGUAGES)
def test_every_step_is_in_the_guide_in_order_and_every_image_exists(language: str) -> None:
    template = (TEMPLATES / f"{language}.md").read_text(encoding="utf-8")
    steps = [step for step in PLACEHOLDER.findall(template) if step in STEPS]
    assert list(dict.fromkeys(steps)) == list(STEPS), "each screenshot of the journeys, in the journeys' order"
    shown = _IMAGE.findall((DOCS / f"{language}.md").read_text(encoding="utf-8"))
    assert shown == [image(language, step) for step in steps]
    for path in shown:
        assert (DOCS / path).is_file() and (DOCS / path).stat().st_size < 400_000, path


def test_an_unknown_step_in_a_template_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "en.md").write_text("![x]({{case3-email}})", encoding="utf-8")
    monkeypatch.setattr(guide, "TEMPLATES", tmp_path)
    with pytest.raises(ValueError, match="unknown step"):
        guide.render("en")
