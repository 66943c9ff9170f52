"""The invitation's rules (shared/domain), without storage."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import invitations as rules
from shared.domain.errors import InvalidInput
from shared.domain.ids import parse_invitation_id
from shared.domain.models import Invitation, InvitationStatus, SignedInUser
from tests.support import invitation_body

NOW = datetime(2030, 3, 5, 12, 0, tzinfo=UTC)
ALLOWED = ["https://portal.rconnect.example", "https://shop.rconnect.example/de"]


def invitation(**changes: object) -> Invitation:
    body = invitation_body()
    stored = Invitation.model_validate(
        {
            **body,
            "id": "1ce27bca-4c72-4860-8a1c-3a548a1cac4f",
            "status": "pending",
            "language": "en",
            "ttlDays": 7,
            "createdAt": NOW,
            "expiresAt": NOW + timedelta(days=7),
            "inviteRedeemUrl": "https://invite.example/api/InviteUser?invitationId=1ce27bca-4c72-4860-8a1c-3a548a1cac4f",
        }
    )
    return stored.model_copy(update=changes)


def user(object_id: str = "oid-1", email: str = "Anna@Contoso.example") -> SignedInUser:
    return SignedInUser(object_id=object_id, email=email, name="Anna", account_type="local")


@pytest.mark.parametrize(
    "url",
    ["https://portal.rconnect.example", "https://portal.rconnect.example/welcome?x=1", "https://shop.rconnect.example/de/home"],
)
def test_redirects_within_the_allow_list_pass(url: str) -> None:
    rules.check_redirect_allowed(url, ALLOWED)


@pytest.mark.parametrize(
    "url",
    ["https://portal.rconnect.example.evil.example", "https://shop.rconnect.example/dex", "http://portal.rconnect.example"],
)
def test_redirects_outside_the_allow_list_are_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput) as error:
        rules.check_redirect_allowed(url, ALLOWED)
    assert error.value.code == "redirect-not-allowed" and not error.value.retryable


def test_no_redirect_needs_no_allow_list() -> None:
    rules.check_redirect_allowed(None, [])


def test_accepted_by_is_the_same_account_on_an_accepted_invitation() -> None:
    anna = user()
    accepted = invitation(status=InvitationStatus.ACCEPTED, accepted_by=anna)
    assert accepted.is_accepted_by(anna)
    assert not accepted.is_accepted_by(user(object_id="oid-2"))
    assert not accepted.model_copy(update={"status": InvitationStatus.COMPLETED}).is_accepted_by(anna)
    assert not invitation().is_accepted_by(anna)


def test_redemption_block_follows_the_effective_status() -> None:
    assert rules.redemption_block(invitation(), NOW) is None
    assert rules.redemption_block(invitation(), NOW + timedelta(days=8)) == "invitation-expired"
    assert rules.redemption_block(invitation(status=InvitationStatus.REVOKED), NOW) == "invitation-revoked"
    assert rules.redemption_block(invitation(status=InvitationStatus.COMPLETED), NOW) == "invitation-completed"


def test_email_must_match_only_when_required() -> None:
    pending = invitation()
    pending = pending.model_copy(update={"invitee": pending.invitee.model_copy(update={"email": "anna@contoso.example"})})
    assert rules.email_matches(pending, user(email="ANNA@contoso.example"), required=True)
    assert not rules.email_matches(pending, user(email="bob@contoso.example"), required=True)
    assert rules.email_matches(pending, user(email="bob@contoso.example"), required=False)


def test_company_id_is_derived_from_the_invitation() -> None:
    assert rules.company_id_for("a") == rules.company_id_for("a") != rules.company_id_for("b")


def test_invitation_ids_are_canonical_uuids() -> None:
    assert parse_invitation_id("1CE27BCA4C7248608A1C3A548A1CAC4F") == "1ce27bca-4c72-4860-8a1c-3a548a1cac4f"
    with pytest.raises(InvalidInput):
        parse_invitation_id("not-a-uuid")


def test_a_stored_invitation_is_read_back_without_validating_its_addresses_again() -> None:
    """Its addresses were validated before it was written; what a caller sends still is validated."""
    from pydantic import ValidationError

    from shared.adapters.tables.invitations import DATA_VERSION, stored_invitation

    stored = invitation()
    data = stored.model_dump_json()
    unchecked = data.replace(stored.invitee.email, "not-an-address")  # stands in for email-validator's work, skipped
    assert stored_invitation({"Data": unchecked, "DataVersion": DATA_VERSION}).invitee.email == "not-an-address"
    with pytest.raises(ValidationError):
        Invitation.model_validate_json(unchecked)
    assert stored_invitation({"Data": data, "DataVersion": DATA_VERSION}) == Invitation.model_validate_json(data)


def test_a_row_of_another_layout_is_refused_not_misread() -> None:
    from shared.adapters.tables.invitations import DATA_VERSION, stored_invitation

    data = invitation().model_dump_json()
    for layout in (None, DATA_VERSION + 1):
        with pytest.raises(ValueError, match="layout"):
            stored_invitation({"Data": data, "DataVersion": layout})


def test_the_stored_layout_uses_the_models_field_names_not_the_apis() -> None:
    """Renaming what staff see (the camelCase aliases) must change no stored row."""
    stored = json.loads(invitation().model_dump_json())
    assert {"invite_redeem_url", "expires_at", "ttl_days"} <= set(stored)
    assert not {"inviteRedeemUrl", "expiresAt", "ttlDays"} & set(stored)
