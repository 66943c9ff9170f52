"""Ids from outside and the domain's errors: what a caller (and the problem+json answer) gets to see."""

import pytest
from pydantic import BaseModel, ValidationError

from shared.domain.errors import Conflict, DomainError, InvalidInput, SignInFailed, Unavailable
from shared.domain.ids import Uuid, canonical_uuid, parse_invitation_id

ID = "1ce27bca-4c72-4860-8a1c-3a548a1cac4f"


class Message(BaseModel):
    invitation_id: Uuid


@pytest.mark.parametrize("spelling", [ID, ID.upper(), ID.replace("-", ""), ID.replace("-", "").upper()])
def test_a_uuid_in_any_accepted_spelling_becomes_the_canonical_one(spelling: str) -> None:
    assert canonical_uuid(spelling) == ID
    assert Message(invitation_id=spelling).invitation_id == ID


@pytest.mark.parametrize("value", ["", "not-a-uuid", ID + "0", " " + ID, ID + "\n", "a/" + ID[2:], "{" + ID + "}", "urn:uuid:" + ID])
def test_anything_else_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(ValueError, match=r"^Input should be a UUID$"):
        canonical_uuid(value)
    with pytest.raises(ValidationError):
        Message(invitation_id=value)


def test_an_invalid_invitation_id_is_invalid_input_naming_what_was_expected() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_invitation_id("nope")
    assert refused.value.code == "invalid-id"
    assert refused.value.detail == "'nope' is not a valid invitation id (a UUID was expected)."
    with pytest.raises(InvalidInput) as missing:
        parse_invitation_id(None, "batch")
    assert missing.value.detail == "'' is not a valid batch id (a UUID was expected)."


def test_a_domain_error_carries_its_detail_and_a_code_defaulting_to_its_kind() -> None:
    error = Conflict("it is taken")
    assert (str(error), error.detail, error.code) == ("it is taken", "it is taken", "Conflict")
    assert DomainError("x", code="chosen").code == "chosen"
    assert not DomainError("x").retryable


def test_a_failed_sign_in_keeps_the_platform_s_error_and_description() -> None:
    error = SignInFailed("access_denied", "AADB2C90091: The user has cancelled entering self-asserted information.")
    assert (error.error, error.description, error.code) == (
        "access_denied",
        "AADB2C90091: The user has cancelled entering self-asserted information.",
        "sign-in-failed",
    )
    assert error.detail == "access_denied: AADB2C90091: The user has cancelled entering self-asserted information."


def test_unavailable_is_retryable_after_a_while_with_its_own_code() -> None:
    error = Unavailable("storage is down")
    assert (error.code, error.retryable, error.retry_after_seconds, error.detail) == ("unavailable", True, 30, "storage is down")
    assert Unavailable("x", code="storage-unavailable").code == "storage-unavailable"
