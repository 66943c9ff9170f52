"""CompanyService over the fakes: who may use the company page, CREATE COMPANY recording the decision
and asking the company-create worker, the worker writing the company once, and failures recorded."""

from __future__ import annotations

import uuid

import pytest

from shared.domain import invitations as rules
from shared.domain.models import Company, CompanyCreateMessage, CompanyForm, Invitation, InvitationStatus, SignedInUser
from shared.queue_names import COMPANY_CREATE
from shared.services.companies import CompanyService
from shared.services.invitations import InvitationService
from tests.fakes.stores import Member, MemoryCompanies
from tests.support import invitation_body
from tests.unit.services.conftest import Fakes, account, create

FORM = CompanyForm.model_validate({**invitation_body()["company"], "name": "Contoso Robotics AG", "contactName": "Anna K."})


@pytest.fixture
def accepted(invitation_service: InvitationService) -> tuple[str, SignedInUser]:
    """An invitation accepted by its invitee: its id and the account."""
    view = create(invitation_service)
    anna = account(view.invitee.email)
    invitation_service.accept(invitation_service.load(view.id), anna)
    return view.id, anna


def completed(companies: CompanyService, invitation_id: str, user: SignedInUser) -> Invitation:
    access = companies.access(invitation_id, user)
    assert access.loaded is not None
    return companies.complete(access.loaded, FORM, user)


def requested(fakes: Fakes) -> list[tuple[str, str]]:
    return [(message["invitationId"], message["companyId"]) for message in fakes.queues.messages(COMPANY_CREATE)]


def actions(invitation_service: InvitationService, invitation_id: str) -> list[str]:
    return [event.action for event in invitation_service.read(invitation_id).history]


# -- the company page --------------------------------------------------------------------------------


def test_the_company_page_is_for_the_account_that_accepted(companies: CompanyService, accepted: tuple[str, SignedInUser]) -> None:
    invitation_id, anna = accepted
    access = companies.access(invitation_id, anna)
    assert access.loaded is not None and access.invitation.id == access.loaded.invitation.id == invitation_id
    other = companies.access(invitation_id, account(anna.email, object_id="oid-other"))
    assert other.not_theirs and other.loaded is None and other.invitation.id == invitation_id


def test_an_invitation_not_accepted_yet_has_no_company_page(companies: CompanyService, invitation_service: InvitationService) -> None:
    view = create(invitation_service)
    assert companies.access(view.id, account(view.invitee.email)).not_theirs


def test_a_revoked_invitation_blocks_the_page(
    companies: CompanyService, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    invitation_service.revoke(invitation_id, "staff")
    access = companies.access(invitation_id, anna)
    assert (access.blocked, access.invitation.status) == ("invitation-revoked", InvitationStatus.REVOKED)


def test_once_completed_the_page_sends_the_account_on_and_anyone_else_away(
    companies: CompanyService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    completed(companies, invitation_id, anna)
    finished = companies.access(invitation_id, anna)
    assert (finished.finished_url, finished.invitation.status) == (companies.links.welcome(), InvitationStatus.COMPLETED)
    other = companies.access(invitation_id, account(anna.email, object_id="oid-other"))
    assert other.not_theirs and other.invitation.id == invitation_id


def test_with_a_redirect_the_completed_invitee_still_lands_on_the_welcome_page(
    companies: CompanyService, invitation_service: InvitationService
) -> None:
    # The welcome page's button leads on to the redirectUrl (create_company/welcome_page.py): it is never skipped.
    view = create(invitation_service, redirectUrl="https://portal.rconnect.example/start")
    anna = account(view.invitee.email)
    invitation_service.accept(invitation_service.load(view.id), anna)
    completed(companies, view.id, anna)
    assert companies.access(view.id, anna).finished_url == companies.links.welcome()


# -- CREATE COMPANY ----------------------------------------------------------------------------------


def test_complete_records_the_decision_and_asks_the_worker(
    companies: CompanyService, company_store: MemoryCompanies, fakes: Fakes, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    invitation = completed(companies, invitation_id, anna)
    company_id = rules.company_id_for(invitation_id)
    assert invitation.status == InvitationStatus.COMPLETED and invitation.completion is not None
    assert (invitation.completion.company_id, invitation.completion.status, invitation.completion.account) == (company_id, "pending", anna)
    assert (invitation.completion.company.name, invitation.completion.contact_name) == ("Contoso Robotics AG", "Anna K.")
    assert requested(fakes) == [(invitation_id, company_id)]
    assert company_store.companies == {}, "the worker writes the company, not the request"


def test_a_double_submit_is_one_completion(
    companies: CompanyService, accepted: tuple[str, SignedInUser], invitation_service: InvitationService
) -> None:
    invitation_id, anna = accepted
    access = companies.access(invitation_id, anna)
    assert access.loaded is not None
    first = companies.complete(access.loaded, FORM, anna)
    second = companies.complete(access.loaded, FORM, anna)  # from the same read
    assert first.completion == second.completion
    assert actions(invitation_service, invitation_id).count("completed") == 1


def test_a_complete_repeated_after_the_company_was_created_asks_nothing_more(
    companies: CompanyService, fakes: Fakes, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    access = companies.access(invitation_id, anna)
    assert access.loaded is not None
    companies.create_from_completion(message_for(companies.complete(access.loaded, FORM, anna)))
    again = companies.complete(access.loaded, FORM, anna)  # a late double submit, from the same read
    assert again.completion is not None and again.completion.status == "created"
    assert len(requested(fakes)) == 1


def test_a_queue_down_at_complete_leaves_the_request_to_the_sweeper(
    companies: CompanyService, fakes: Fakes, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    fakes.queues.go_down(COMPANY_CREATE)
    invitation = completed(companies, invitation_id, anna)
    assert invitation.status == InvitationStatus.COMPLETED and requested(fakes) == []
    outstanding, _, _ = fakes.invitations.sweepable(fakes.clock.now.replace(year=2100), fakes.clock())
    assert invitation_id in [item.id for item in outstanding], "the pending completion is outstanding"


# -- the company-create worker -------------------------------------------------------------------------


def message_for(invitation: Invitation) -> CompanyCreateMessage:
    assert invitation.completion is not None
    return CompanyCreateMessage(invitation_id=invitation.id, company_id=invitation.completion.company_id)


def test_the_worker_writes_the_company_and_its_admin_once(
    companies: CompanyService,
    company_store: MemoryCompanies,
    invitation_service: InvitationService,
    fakes: Fakes,
    accepted: tuple[str, SignedInUser],
) -> None:
    invitation_id, anna = accepted
    invitation = completed(companies, invitation_id, anna)
    for _ in range(2):  # the message delivered twice
        companies.create_from_completion(message_for(invitation))
    company = company_store.get(rules.company_id_for(invitation_id))
    assert company is not None and (company.invitation_id, company.created_by, company.data.name) == (
        invitation_id,
        anna,
        "Contoso Robotics AG",
    )
    assert company_store.members[company.id] == [Member(anna.object_id, anna.email, "admin", "Anna K.", invitation.completion.completed_at)]  # type: ignore[union-attr]
    after = invitation_service.get(invitation_id)
    assert after.completion is not None and after.completion.status == "created" and after.company_id == company.id
    assert actions(invitation_service, invitation_id).count("company-created") == 1


def test_the_worker_records_created_when_the_company_exists_already(
    companies: CompanyService, company_store: MemoryCompanies, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    invitation = completed(companies, invitation_id, anna)
    assert invitation.completion is not None
    # A first delivery wrote the company and died before recording it: the insert meets the company.
    company_store.insert(
        Company(
            id=invitation.completion.company_id,
            invitation_id=invitation_id,
            data=invitation.completion.company,
            created_at=invitation.completion.completed_at,
            created_by=anna,
        ),
        role="admin",
        member_name="Anna K.",
        at=invitation.completion.completed_at,
    )
    companies.create_from_completion(message_for(invitation))
    completion = invitation_service.get(invitation_id).completion
    assert completion is not None and completion.status == "created"


def test_a_stale_or_unknown_message_is_a_no_op(
    companies: CompanyService, company_store: MemoryCompanies, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    companies.create_from_completion(CompanyCreateMessage(invitation_id=invitation_id, company_id=rules.company_id_for(invitation_id)))
    assert company_store.companies == {}, "no completion yet"
    completed(companies, invitation_id, anna)
    companies.create_from_completion(CompanyCreateMessage(invitation_id=invitation_id, company_id=str(uuid.uuid4())))
    companies.create_from_completion(CompanyCreateMessage(invitation_id=str(uuid.uuid4()), company_id=str(uuid.uuid4())))
    assert company_store.companies == {}
    assert invitation_service.get(invitation_id).completion.status == "pending"  # type: ignore[union-attr]


def test_a_poisoned_message_records_the_last_error_it_met(
    companies: CompanyService, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    message = message_for(completed(companies, invitation_id, anna))
    companies.note_error(message, "Storage answered 503")
    companies.creation_failed(message)
    completion = invitation_service.get(invitation_id).completion
    assert completion is not None and (completion.status, completion.error) == ("failed", "Storage answered 503")
    assert actions(invitation_service, invitation_id).count("company-failed") == 1


def test_a_poisoned_message_without_a_noted_error_says_so(
    companies: CompanyService, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    message = message_for(completed(companies, invitation_id, anna))
    companies.creation_failed(message)
    completion = invitation_service.get(invitation_id).completion
    assert completion is not None and completion.status == "failed" and completion.error and "no error was recorded" in completion.error


def test_a_poisoned_message_about_another_completion_or_none_changes_nothing(
    companies: CompanyService, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    companies.creation_failed(CompanyCreateMessage(invitation_id=invitation_id, company_id=rules.company_id_for(invitation_id)))
    assert invitation_service.get(invitation_id).completion is None, "accepted, not completed"
    completed(companies, invitation_id, anna)
    companies.creation_failed(CompanyCreateMessage(invitation_id=invitation_id, company_id=str(uuid.uuid4())))
    companies.creation_failed(CompanyCreateMessage(invitation_id=str(uuid.uuid4()), company_id=str(uuid.uuid4())))
    assert invitation_service.get(invitation_id).completion.status == "pending"  # type: ignore[union-attr]


def test_a_poisoned_message_after_the_company_was_created_changes_nothing(
    companies: CompanyService, invitation_service: InvitationService, accepted: tuple[str, SignedInUser]
) -> None:
    invitation_id, anna = accepted
    message = message_for(completed(companies, invitation_id, anna))
    companies.create_from_completion(message)
    companies.creation_failed(message)
    assert invitation_service.get(invitation_id).completion.status == "created"  # type: ignore[union-attr]
