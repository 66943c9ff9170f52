"""Typography per language, in one place: every catalog string of pages and e-mails passes here once
(shared.presentation.i18n.catalog), so translators may type plain ' and " and spaces.

- every language: the apostrophe ’ (U+2019) for ' after a letter (it's, technicians');
- quotation marks per language: “…” (en), „…“ (de), « … » (fr, it, es; French with non-breaking spaces inside);
- French: a non-breaking space (U+00A0) before : ; ! ? and », never a line break there.
Placeholders ({name}) and the values put into them (names, addresses) are left alone."""

import re

NBSP = "\u00a0"
_QUOTES = {"en": ("\u201c", "\u201d"), "de": ("\u201e", "\u201c"), "fr": ("\u00ab" + NBSP, NBSP + "\u00bb"), "it": ("\u00ab", "\u00bb")}
_QUOTES["es"] = _QUOTES["it"]
_APOSTROPHE = re.compile(r"(?<=\w)'")
_QUOTED = re.compile(r'"([^"]+)"')
_FRENCH_SPACE_BEFORE = re.compile(r"[ \u00a0\u202f]*([:;!?])(?=\s|$|[»)])")


def typeset(text: str, language: str) -> str:
    opening, closing = _QUOTES.get(language, _QUOTES["en"])
    text = _QUOTED.sub(lambda quoted: f"{opening}{quoted[1]}{closing}", _APOSTROPHE.sub("\u2019", text))
    if language == "fr":
        text = _FRENCH_SPACE_BEFORE.sub(lambda mark: NBSP + mark[1], text)
    return text
