"""Message catalogs for e-mails and pages, one JSON file per catalog and language."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

Language = Literal["en", "fr", "de", "it", "es"]
LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
_LOCALES = Path(__file__).parent / "locales"


@lru_cache
def catalog(name: str, language: str) -> dict[str, str]:
    """The catalog `locales/{name}/{language}.json`, falling back to English key by key."""
    english = json.loads((_LOCALES / name / f"{DEFAULT_LANGUAGE}.json").read_text("utf-8"))
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return english
    localized = json.loads((_LOCALES / name / f"{language}.json").read_text("utf-8"))
    return {**english, **localized}


def best_language(accept_language: str | None) -> Language:
    """The first supported language of an Accept-Language header, by q-value."""
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((quality, tag.split("-")[0].lower()))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag in LANGUAGES:
            return tag  # type: ignore[return-value]
    return DEFAULT_LANGUAGE
