"""The company page's form (shared/presentation/company_form.py over CompanyForm), without HTTP:
each field's valid and invalid values name that field alone, which the page marks as its error
(tests/test_bad_input.py shows one such page over HTTP)."""

from __future__ import annotations

import pytest

from shared.presentation.company_form import FIELD_NAMES, FIELDS, validate
from tests.unit.test_request_validation import FORBIDDEN

TEXT_FIELDS = ("name", "street", "city", "contact_name", "postal_code", "vat_number", "phone", "website")
VALUES = {
    "name": "Contoso Precision AG",
    "street": "Industriestrasse 12",
    "postal_code": "8500",
    "city": "Frauenfeld",
    "country": "CH",
    "vat_number": "CHE-123.456.789",
    "phone": "+41 52 123 45 67",
    "website": "https://contoso.example",
    "contact_name": "Anna Keller",
}
VALID: dict[str, list[str]] = {
    "name": ["A", "x" * 200, "Zoë Ünal-Öztürk 山田"],
    "street": ["Industriestrasse 12", "x" * 200],
    "postal_code": ["8500", "SW1A 1AA", "75-001"],
    "city": ["Frauenfeld", "Zürich"],
    "country": ["CH", "de"],
    "vat_number": ["CHE-123.456.789", "de 1234"],
    "phone": ["+41 52 123 45 67", "(052) 123-45.67", "123456"],
    "website": ["https://contoso.example", "http://contoso.example/path", "", "   "],  # blank: no website
    "contact_name": ["Anna Keller", "x" * 200],
}
INVALID: dict[str, list[str]] = {
    "name": ["", "   ", "x" * 201],
    "street": ["", "x" * 201],
    "postal_code": ["", "1", "-8500", "8500_1", "1234567890123"],
    "city": ["", "   "],
    "country": ["", "XX", "CHE"],
    "vat_number": ["", "CH1", "CHE_123", "x" * 21],
    "phone": ["", "call me", "12345", "12 3-45", "1" * 26],
    "website": ["contoso.example", "ftp://contoso.example", "javascript:alert(1)", "https://contoso.example/" + "x" * 300],
    "contact_name": ["", "   ", "x" * 201],
}


def cases(table: dict[str, list[str]]) -> list[object]:
    return [pytest.param(field, value, id=f"{field}={value!r:.40}") for field, values in table.items() for value in values]


def test_the_untouched_form_is_valid_and_the_fields_are_the_models() -> None:
    form, errors = validate(VALUES)
    assert errors == set() and form is not None
    assert FIELD_NAMES == set(VALUES) == {field.name for field in FIELDS}


@pytest.mark.parametrize(("field", "value"), cases(VALID))
def test_a_valid_value_is_accepted(field: str, value: str) -> None:
    form, errors = validate({**VALUES, field: value})
    assert (errors, form is not None) == (set(), True)


@pytest.mark.parametrize(("field", "value"), cases(INVALID))
def test_an_invalid_value_marks_that_field_alone(field: str, value: str) -> None:
    assert validate({**VALUES, field: value}) == (None, {field})


@pytest.mark.parametrize("field", sorted(FIELD_NAMES - {"website"}))
def test_a_required_field_left_out_marks_that_field(field: str) -> None:
    values = dict(VALUES)
    del values[field]
    assert validate(values) == (None, {field})


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("name", list(FORBIDDEN))
def test_control_and_bidi_characters_mark_that_field_alone(field: str, name: str) -> None:
    value = VALUES[field]
    middle = len(value) // 2
    assert validate({**VALUES, field: value[:middle] + FORBIDDEN[name] + value[middle:]}) == (None, {field})


def test_other_submitted_names_are_ignored() -> None:
    form, errors = validate({**VALUES, "csrf": "token", "colour": "orange"})
    assert errors == set() and form is not None


def test_the_form_is_normalised_as_the_api_normalises() -> None:
    form, _ = validate({**VALUES, "country": "ch", "vat_number": "che-123.456.789", "city": " Frauenfeld\r\n", "website": ""})
    assert form is not None
    assert (form.country, form.vat_number, form.city, form.website) == ("CH", "CHE-123.456.789", "Frauenfeld", None)
