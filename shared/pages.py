"""The invitee-facing HTML pages, rendered from templates in the page's language."""

from typing import Any

from shared.i18n import catalog
from shared.rendering import render

CATALOG = "pages"


def message_page(kind: str, language: str, *, action_url: str | None = None, **params: Any) -> str:
    """A one-message page (error or notice): `{kind}.title`, `{kind}.text`, optional `{kind}.action`."""
    t = catalog(CATALOG, language)
    action_label = t.get(f"{kind}.action") if action_url else None
    return render(
        "pages/message.html",
        catalog_name=CATALOG,
        language=language,
        kind=kind,
        title=t[f"{kind}.title"].format(**params),
        text=t[f"{kind}.text"].format(**params),
        action_label=action_label,
        action_url=action_url,
    )


def page(template: str, language: str, **context: Any) -> str:
    return render(f"pages/{template}", catalog_name=CATALOG, language=language, **context)
