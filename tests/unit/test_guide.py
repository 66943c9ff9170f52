"""docs/guide/ is what `make guide` makes of its templates: every step in every language, every
image it shows committed (the screenshots themselves change with every run, so they are not compared),
every button it quotes as the catalogs have it (the guide journeys check that Chromium shows it so)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tools.localstack.guide as guide
from shared.presentation.i18n import catalog
from tools.localstack.guide import (
    DOCS,
    EMAIL_TEXT,
    GUIDE_LANGUAGES,
    LABEL,
    LABELS,
    PLACEHOLDER,
    STEPS,
    TEMPLATES,
    forbidden_text,
    image,
    label,
    render,
)

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


@pytest.mark.parametrize("language", GUIDE_LANGUAGES)
def test_the_guide_can_be_sent_to_a_customer(language: str) -> None:
    """No local host, temporary path, stand-in or test address in the guide or the e-mail it quotes
    (its screenshots are checked the same way when the guide journeys take them)."""
    for path in (DOCS / f"{language}.md", DOCS / "images" / language / EMAIL_TEXT):
        assert forbidden_text(path.read_text(encoding="utf-8")) == [], path


@pytest.mark.parametrize(
    "text", ["http://localhost:41939/api/Welcome", "/tmp/pytest-of-root/x.eml", "Local stand-in", "anna.1b6f9aa60d1f@contoso.example"]
)
def test_what_a_customer_guide_must_not_show_is_found(text: str) -> None:
    assert forbidden_text(text)


_BOLD = re.compile(r"\*\*([^*]+)\*\*")


@pytest.mark.parametrize("language", [language for language in GUIDE_LANGUAGES if language != "en"])
def test_the_guide_quotes_no_english_label(language: str) -> None:
    english = set(_BOLD.findall((DOCS / "en.md").read_text(encoding="utf-8")))
    quoted = set(_BOLD.findall((DOCS / f"{language}.md").read_text(encoding="utf-8")))
    assert quoted & english <= {"My rConnect", "e-mail"}, f"{language}.md quotes English labels: {quoted & english}"


def test_the_french_guide_follows_french_typography() -> None:
    text = (TEMPLATES / "fr.md").read_text(encoding="utf-8")
    prose = re.sub(r"\(#[^)]*\)|`[^`]*`|\{\{[^}]*\}\}", "", text)  # anchors, code and placeholders are not prose
    assert not re.search(r" [:;?!»]|« ", prose), "a no-break space belongs before : ; ? ! » and after «"
    assert "'" not in prose, "French takes the typographic apostrophe ’"
