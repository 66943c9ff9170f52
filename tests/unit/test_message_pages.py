"""Every one-message page has a next step: exactly one primary button, and whom to ask."""

import re
from typing import Any

import pytest

from shared.presentation.i18n import catalog
from shared.presentation.pages import Contact, message_page

KINDS = sorted({key.rsplit(".", 1)[0] for key in catalog("pages", "en") if key.endswith(".title") and key.count(".") == 1})
PARAMS: dict[str, Any] = {
    "inviter": "Marco Rossi",
    "organisation": "rConnect Service",
    "expires": "March 5, 2030",
    "tenant": "contoso.example",
    "reason": "The administrator declined to approve My rConnect.",
    "signed_in": "a@b.example",
    "invited": "c@d.example",
    "name": "Anna",
}
PAGES_WITH_OWN_TEMPLATE = {"company", "welcome", "consent"}


@pytest.mark.parametrize("language", ["en", "fr", "de", "it", "es"])
@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind not in PAGES_WITH_OWN_TEMPLATE])
@pytest.mark.parametrize("action_url", [None, "https://invitations.example/next"])
def test_one_primary_button_and_a_contact(kind: str, language: str, action_url: str | None) -> None:
    for contact in (Contact("mailto:cs@rconnect.example"), Contact("mailto:marco@rconnect.example", "Marco Rossi")):
        html = message_page(kind, language, contact=contact, action_url=action_url, **PARAMS)
        assert len(re.findall(r'class="button" id="message-action"', html)) == 1, html
        assert 'id="message-contact"' in html and contact.url in html


def test_the_draft_is_shown_and_ready_to_send_to_the_contact() -> None:
    draft = {"name": "Contoso AG", "city": "Zürich & Co", "website": ""}
    html = message_page("invitation-revoked", "en", contact=Contact("mailto:marco@rconnect.example", "Marco Rossi"), draft=draft, **PARAMS)
    assert "Company name: Contoso AG\nCity: Zürich &amp; Co</pre>" in html, "escaped, empty fields left out"
    assert 'href="mailto:marco@rconnect.example?subject=My%20company%20details%20for%20My%20rConnect&amp;body=Company%20name' in html
