"""`make guide`: the customer guide (docs/guide/{en,fr,de}.md) from its templates and the
screenshots the guide journeys take (tests/test_guide_journeys.py → test-artifacts/guide/).

A template (docs/guide/templates/{language}.md) is the guide's text, in the structure of the
customer guide GFMS gives its customers (accept the invitation; CASE 1; CASE 2, steps 1–5; the
grey/orange button; the welcome window; then what to do when something goes wrong), with `{{step}}`
where a step's screenshot goes, `{{label:name}}` where it quotes a button of ours (LABELS), as the
reader sees it in that language, and `{{email-text}}` where it quotes the invitation e-mail's text.

The journeys play a realistic scenario (SCENARIO: real-looking people and companies, the e-mail's
links on the public host PUBLIC_HOST, the local sign-in pages without their development marker), so
that the guide can be sent to a customer as it is; `forbidden_text` names what must never show.
"""

from __future__ import annotations

import re
import shutil
import sys

from shared.presentation.i18n import catalog
from tools.localstack.stack import ROOT

GUIDE_LANGUAGES = ("en", "fr", "de")
# Every screenshot the guide shows, in the order the guide shows them.
STEPS = (
    "case1-email",
    "case1-signin",
    "consent-required",
    "consent-instructions",
    "consent-admin",
    "consent-approved",
    "case1-company-orange",
    "case1-company-grey",
    "case1-welcome",
    "case2-email",
    "case2-signin",
    "case2-signup",
    "case2-code",
    "case2-consent",
    "case2-company-orange",
    "case2-company-grey",
    "case2-welcome",
    "help-forgot-password",
    "help-new-password",
    "help-declined",
    "help-expired",
    "help-invitation-expired",
)
# The host the e-mail's links show, as in production (the local stack serves on localhost).
PUBLIC_HOST = "https://invite.rconnect.example"
# Who plays each part, per language: (e-mail, display name). CASE 1's work account, CASE 2's new
# account, the recovery journeys' account ("help") and a late invitee ("late") work at COMPANY; the
# admin-consent invitee at another organisation, whose tenant the guide's stack has not approved yet
# (IDP_CONSENT_REQUIRED_DOMAINS), and "admin" is its IT administrator.
SCENARIO: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "case1": ("james.walker@walker-precision.co.uk", "James Walker"),
        "case2": ("emily.clarke@walker-precision.co.uk", "Emily Clarke"),
        "help": ("sophie.turner@walker-precision.co.uk", "Sophie Turner"),
        "late": ("daniel.evans@walker-precision.co.uk", "Daniel Evans"),
        "consent": ("oliver.hughes@hughes-engineering.co.uk", "Oliver Hughes"),
        "admin": ("it.support@hughes-engineering.co.uk", "IT support"),
    },
    "fr": {
        "case1": ("claire.dubois@dubois-mecanique.fr", "Claire Dubois"),
        "case2": ("julien.martin@dubois-mecanique.fr", "Julien Martin"),
        "help": ("nicolas.petit@dubois-mecanique.fr", "Nicolas Petit"),
        "late": ("sophie.laurent@dubois-mecanique.fr", "Sophie Laurent"),
        "consent": ("camille.bernard@bernard-usinage.fr", "Camille Bernard"),
        "admin": ("informatique@bernard-usinage.fr", "Informatique"),
    },
    "de": {
        "case1": ("anna.schmidt@mueller-maschinenbau.de", "Anna Schmidt"),
        "case2": ("jonas.weber@mueller-maschinenbau.de", "Jonas Weber"),
        "help": ("felix.wagner@mueller-maschinenbau.de", "Felix Wagner"),
        "late": ("maria.becker@mueller-maschinenbau.de", "Maria Becker"),
        "consent": ("lena.fischer@fischer-formenbau.de", "Lena Fischer"),
        "admin": ("it-service@fischer-formenbau.de", "IT-Service"),
    },
}
# The company GFMS recorded for the invitees of each language (the invitation's `company`).
COMPANY: dict[str, dict[str, str]] = {
    "en": {
        "name": "Walker Precision Ltd",
        "street": "14 Mill Lane",
        "postalCode": "CV1 2NL",
        "city": "Coventry",
        "country": "GB",
        "vatNumber": "GB123456789",
        "phone": "+44 24 7655 0142",
        "website": "https://www.walker-precision.co.uk",
    },
    "fr": {
        "name": "Dubois Mécanique SAS",
        "street": "27 rue des Ateliers",
        "postalCode": "74300",
        "city": "Cluses",
        "country": "FR",
        "vatNumber": "FR40123456789",
        "phone": "+33 4 50 98 12 34",
        "website": "https://www.dubois-mecanique.fr",
    },
    "de": {
        "name": "Müller Maschinenbau GmbH",
        "street": "Industriestraße 8",
        "postalCode": "73037",
        "city": "Göppingen",
        "country": "DE",
        "vatNumber": "DE123456789",
        "phone": "+49 7161 50 40 30",
        "website": "https://www.mueller-maschinenbau.de",
    },
}
EMAIL_TEXT = "invitation-email.txt"  # the invitation e-mail's text, next to the images
# What a guide for customers must never show, in its text or its screenshots.
_FORBIDDEN = re.compile(r"localhost|127\.0\.0\.1|/tmp/|pytest-of|stand-in|[a-z]+\.[0-9a-f]{12}@|contoso\.example", re.IGNORECASE)
DOCS = ROOT / "docs" / "guide"
TEMPLATES = DOCS / "templates"
SHOTS = ROOT / "test-artifacts" / "guide"
# The buttons a guide quotes, taken from the catalogs (shared/locales/{catalog}/{language}.json) so
# the guide cannot drift from them: name → (catalog, key, upper-cased on screen). The pages' `.button`
# is `text-transform: uppercase` (shared/templates/pages/base.html); the e-mail's button is not. The
# guide journeys check each against the text Chromium shows.
LABELS: dict[str, tuple[str, str, bool]] = {
    "email.button": ("email", "button", False),
    "company.submit": ("pages", "company.submit", True),
    "consent-required.action": ("pages", "consent-required.action", True),
    "sign-in-cancelled.action": ("pages", "sign-in-cancelled.action", True),
    "invitation-expired.action": ("pages", "invitation-expired.action", True),
}
PLACEHOLDER = re.compile(r"\{\{([a-z0-9-]+)\}\}")
EMAIL_PLACEHOLDER = "{{email-text}}"
LABEL = re.compile(r"\{\{label:([^}]*)\}\}")
HEADER = (
    "<!-- Generated by `make guide` from docs/guide/templates/{language}.md and the guide journeys' screenshots: edit the template. -->\n\n"
)


def forbidden_text(text: str) -> list[str]:
    """What `text` shows that a customer's guide must not: local hosts, temporary paths, the
    stand-in, test addresses with a random suffix."""
    return [match.group(0) for match in _FORBIDDEN.finditer(text)]


def quoted_email(language: str) -> str:
    """The invitation e-mail's text as a Markdown quote (kept next to the guide's images)."""
    lines = (DOCS / "images" / language / EMAIL_TEXT).read_text(encoding="utf-8").strip().splitlines()
    # A backslash ends a line that the next one continues: Markdown would join them into one.
    ends = [line and following and "\\" for line, following in zip(lines, [*lines[1:], ""], strict=True)]
    return "\n".join(f"> {line}{end or ''}".rstrip() for line, end in zip(lines, ends, strict=True))


def image(language: str, step: str) -> str:
    """An image's path relative to the guide."""
    return f"images/{language}/{step}.jpg"


def label(language: str, name: str) -> str:
    """The button `name` of LABELS as a reader of `language` sees it."""
    name_catalog, key, upper = LABELS[name]
    text = catalog(name_catalog, language)[key]
    return text.upper() if upper else text


def render(language: str) -> str:
    """The guide in `language`: its template with each `{{step}}` the step's image path and each
    `{{label:name}}` the label."""
    template = (TEMPLATES / f"{language}.md").read_text(encoding="utf-8")

    def path(match: re.Match[str]) -> str:
        if match.group(1) not in STEPS:
            raise ValueError(f"{language}.md: unknown step {match.group(0)}")
        return image(language, match.group(1))

    def quoted(match: re.Match[str]) -> str:
        if match.group(1) not in LABELS:
            raise ValueError(f"{language}.md: unknown label {match.group(0)} (known: {', '.join(LABELS)})")
        return label(language, match.group(1))

    guide = PLACEHOLDER.sub(path, LABEL.sub(quoted, template.replace(EMAIL_PLACEHOLDER, quoted_email(language))))
    # A misspelt placeholder would otherwise reach the customer verbatim.
    if leftover := re.search(r"\{\{[^}\n]*\}*", guide):
        raise ValueError(f"{language}.md: unknown placeholder {leftover.group(0)}")
    return HEADER.format(language=language) + guide


def main() -> None:
    missing = [
        f"{language}/{name}"
        for language in GUIDE_LANGUAGES
        for name in (*(f"{step}.jpg" for step in STEPS), EMAIL_TEXT)
        if not (SHOTS / language / name).exists()
    ]
    if missing:
        sys.exit(f"Screenshots missing in {SHOTS} (run the guide journeys first): {', '.join(missing)}")
    for language in GUIDE_LANGUAGES:
        images = DOCS / "images" / language
        images.mkdir(parents=True, exist_ok=True)
        for step in STEPS:
            shutil.copyfile(SHOTS / language / f"{step}.jpg", images / f"{step}.jpg")
        shutil.copyfile(SHOTS / language / EMAIL_TEXT, images / EMAIL_TEXT)
        (DOCS / f"{language}.md").write_text(render(language), encoding="utf-8")
        print(f"docs/guide/{language}.md")


if __name__ == "__main__":
    main()
