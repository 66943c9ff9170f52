"""Message catalogs for e-mails and pages, one JSON file per catalog and language."""

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from shared.domain.models import DEFAULT_LANGUAGE, LANGUAGES, Language
from shared.presentation.typography import typeset

_LOCALES = Path(__file__).parent.parent / "locales"  # shared/locales


@lru_cache
def catalog(name: str, language: str) -> dict[str, str]:
    """The catalog `locales/{name}/{language}.json`, falling back to English key by key, typeset for its language."""
    english = json.loads((_LOCALES / name / f"{DEFAULT_LANGUAGE}.json").read_text("utf-8"))
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return {key: typeset(value, DEFAULT_LANGUAGE) for key, value in english.items()}
    localized = json.loads((_LOCALES / name / f"{language}.json").read_text("utf-8"))
    return {key: typeset(value, language) for key, value in {**english, **localized}.items()}


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


def format_date(moment: datetime, language: str) -> str:
    """The UTC calendar date in the language's style, e.g. "March 5, 2025" or "5. März 2025"."""
    # A naive datetime is taken as UTC, the convention for every timestamp this app stores.
    day = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()
    t = catalog("email", language)
    month = t["months"].split()[day.month - 1]
    return t["date_format"].format(day=day.day, month=month, year=day.year)
