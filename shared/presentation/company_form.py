"""The company page's fields: one description feeds the HTML constraints and the server's
messages, so the browser's checks mirror the pydantic model (CompanyForm)."""

from dataclasses import dataclass

from pydantic import ValidationError

from shared.domain.models import (
    PHONE_PATTERN,
    POSTAL_CODE_PATTERN,
    VAT_PATTERN,
    CompanyForm,
    Invitation,
    SignedInUser,
)

NOT_BLANK = r".*\S.*"
WEB_URL = r"^https?:\/\/\S+$"


@dataclass(frozen=True)
class Field:
    name: str
    input_type: str = "text"
    pattern: str | None = NOT_BLANK
    required: bool = True
    max_length: int = 200
    autocomplete: str = "off"
    min_digits: int | None = None  # a rule no HTML attribute expresses; the page's script checks it


FIELDS: tuple[Field, ...] = (
    Field("name", autocomplete="organization"),
    Field("street", autocomplete="street-address"),
    Field("postal_code", pattern=POSTAL_CODE_PATTERN, max_length=12, autocomplete="postal-code"),
    Field("city", autocomplete="address-level2"),
    Field("country", input_type="select", pattern=None, max_length=2, autocomplete="country"),
    Field("vat_number", pattern=VAT_PATTERN, max_length=20),
    Field("phone", input_type="tel", pattern=PHONE_PATTERN, max_length=25, autocomplete="tel", min_digits=6),
    Field("website", input_type="url", pattern=WEB_URL, required=False, max_length=300, autocomplete="url"),
    Field("contact_name", autocomplete="name"),
)
FIELD_NAMES = frozenset(field.name for field in FIELDS)


def initial_values(invitation: Invitation, user: SignedInUser) -> dict[str, str]:
    company = invitation.company.model_dump()
    values = {name: "" if company.get(name) is None else str(company[name]) for name in FIELD_NAMES}
    values["contact_name"] = user.name or invitation.invitee.display_name
    return values


def validate(values: dict[str, str]) -> tuple[CompanyForm | None, set[str]]:
    """(the form, no errors) or (None, the names of the invalid fields)."""
    data = {name: values.get(name, "") for name in FIELD_NAMES}
    if not data["website"].strip():
        data["website"] = None  # type: ignore[assignment]
    try:
        return CompanyForm.model_validate(data), set()
    except ValidationError as error:
        return None, {str(item["loc"][0]) for item in error.errors() if item["loc"]}
