"""ISO 3166-1 alpha-2 countries, with names in the page's language (pycountry's catalogs)."""

import gettext
from functools import lru_cache

import pycountry


@lru_cache
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, localized name) pairs sorted by name, for the company form's select."""
    translation = gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )
    names = ((c.alpha_2, translation.gettext(c.name)) for c in pycountry.countries)
    return tuple(sorted(names, key=lambda pair: pair[1].casefold()))
