"""docs/guide/ is what `make guide` makes of its templates: every step in every language, every
image it shows committed (the screenshots themselves change with every run, so they are not compared),
every button it quotes as the catalogs have it (the guide journeys check that Chromium shows it so)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tools.localstack.guide as guide
from shared.presentation.i18n import catalog
from tools.localstack.guide import DOCS, GUIDE_LANGUAGES, LABEL, LABELS, PLACEHOLDER, STEPS, TEMPLATES, image, label, render

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


@pytest.mark.parametrize("language", GUIDE_LANGUAGES)
def test_the_guide_quotes_every_button_as_its_catalog_has_it(language: str) -> None:
    template = (TEMPLATES / f"{language}.md").read_text(encoding="utf-8")
    committed = (DOCS / f"{language}.md").read_text(encoding="utf-8")
    quoted = LABEL.findall(template)
    assert set(quoted) == set(LABELS), "every guide quotes every button it tells the reader to press"
    for name, (name_catalog, key, _) in LABELS.items():
        text = catalog(name_catalog, language)[key]
        assert label(language, name) in (text, text.upper())
        # Typed into the template, a label would not follow the catalog.
        assert text.casefold() not in template.casefold(), f"{language}.md: write {{{{label:{name}}}}}"
        assert committed.count(f"**{label(language, name)}**") == quoted.count(name), "run `make guide`"


@pytest.mark.parametrize(
    ("placeholder", "error"),
    [
        ("{{label:company.sumbit}}", "unknown label {{label:company.sumbit}}"),
        ("{{label:company.submit}", "unknown placeholder {{label:company.submit}"),
        ("{{Case1-Email}}", "unknown placeholder {{Case1-Email}}"),
    ],
)
def test_a_placeholder_the_guide_cannot_fill_is_refused(
    placeholder: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "en.md").write_text(f"Press **{placeholder}**.", encoding="utf-8")
    monkeypatch.setattr(guide, "TEMPLATES", tmp_path)
    with pytest.raises(ValueError, match=re.escape(f"en.md: {error}")):
        guide.render("en")
