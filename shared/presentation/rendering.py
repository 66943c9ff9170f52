"""Jinja2 templates for e-mails and pages; autoescaping is on for every HTML template."""

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.presentation.i18n import catalog


@lru_cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),  # shared/templates
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, *, catalog_name: str, language: str, **context: Any) -> str:
    """Render `template` with `t` (the language's catalog) and `lang` in its context."""
    return _environment().get_template(template).render(t=catalog(catalog_name, language), lang=language, **context)
