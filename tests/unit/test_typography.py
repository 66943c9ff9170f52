"""Typography per language from one place (shared/presentation/typography.py), applied to every catalog."""

import pytest

from shared.presentation.i18n import catalog
from shared.presentation.typography import NBSP, typeset


def test_french_gets_non_breaking_spaces_quotes_and_apostrophes() -> None:
    assert typeset("Besoin d'aide ? Lisez \"Démarrer\" : c'est simple !", "fr") == (
        f"Besoin d’aide{NBSP}? Lisez «{NBSP}Démarrer{NBSP}»{NBSP}: c’est simple{NBSP}!"
    )
    assert typeset("Bonjour{NBSP}!".replace("{NBSP}", NBSP), "fr") == f"Bonjour{NBSP}!", "already right stays right"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Press “Start”, it’s quick"), ("de", "Press „Start“, it’s quick"), ("it", "Press «Start», it’s quick")],
)
def test_quotes_and_apostrophes_per_language(language: str, expected: str) -> None:
    assert typeset('Press "Start", it\'s quick', language) == expected


def test_urls_times_and_placeholders_are_left_alone() -> None:
    for text in ("https://my.rconnect.example/a?b=c", "10:30", "{inviter} de {organisation}", "{name}"):
        assert typeset(text, "fr") == text


@pytest.mark.parametrize("name", ["pages", "email"])
@pytest.mark.parametrize("language", ["en", "fr", "de", "it", "es"])
def test_every_catalog_string_is_typeset(name: str, language: str) -> None:
    for key, text in catalog(name, language).items():
        assert "'" not in text, f"{language} {name} {key}: straight apostrophe"
        assert "Customer Success" not in text or language == "en", f"{language} {name} {key}: untranslated"
        if language == "fr":
            assert " :" not in text and " ?" not in text and " !" not in text, f"{key}: a breakable space before punctuation"
