"""ISO 3166-1 alpha-2 countries, with names in the page's language (pycountry's catalogs)."""

import gettext
from functools import lru_cache

import pycountry
import pyuca


@lru_cache
def _collator() -> pyuca.Collator:
    return pyuca.Collator()  # reads its Unicode collation table once (~0.2 s)


@lru_cache
def country_choices(language: str) -> tuple[tuple[str, str], ...]:
    """(code, localized name) pairs in alphabetical order, for the company form's select.

    Unicode collation, not code points: accented letters sort with their base letter, so
    "Österreich" comes under O in German and "Égypte" under E in French. The default table is
    CLDR's root order, which is what de/fr/it/en use for these names; Spanish tailors only ñ,
    which starts no country name and decides no order among them.
    """
    translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True)
    names = ((c.alpha_2, translation.gettext(c.name)) for c in pycountry.countries)
    collator = _collator()
    return tuple(sorted(names, key=lambda pair: collator.sort_key(pair[1])))
