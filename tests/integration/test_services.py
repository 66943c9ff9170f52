"""The services in-process against Azurite: the rules hold whatever the trigger, storage errors are domain errors."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient
from pydantic import SecretStr

from shared.adapters.tables import INVITATIONS
from shared.domain.errors import Conflict, DuplicateInvitation, IdempotencyMismatch, InvalidInput, NotFound, Unavailable
from shared.domain.models import (
    CompanyCreateMessage,
    CompanyForm,
    EmailIntent,
    InvitationRequest,
    InvitationStatus,
    ListQuery,
    SignedInUser,
)
from shared.settings import Settings
from shared.wiring import Services
from tests.azurite import Azurite, closed_storage
from tests.integration.conftest import Clock, ServicesFactory
from tests.support import invitation_body


def request(**overrides: object) -> InvitationRequest:
    return InvitationRequest.model_validate(invitation_body(**overrides))


def invitee(email: str, object_id: str = "oid-anna") -> SignedInUser:
    return SignedInUser(object_id=object_id, email=email, name="Anna Keller", account_type="local")


def company_form(body: dict[str, object]) -> CompanyForm:
    return CompanyForm.model_validate({**body, "contactName": "Anna Keller"})


def test_create_stores_the_invitation_with_its_email_queued(app: Services, outbox: Path) -> None:
    view, created = app.invitations.create(request(), actor="staff", idempotency_key=None)
    assert created and view.status == InvitationStatus.PENDING
    assert view.invite_redeem_url == app.links.redeem(view.id)
    assert view.email is not None and (view.email.status, view.email.attempt) == ("queued", 1)
    assert [(event.action, event.send_id) for event in view.history] == [("created", view.email.send_id)]
    assert list(outbox.glob("*.eml")) == [], "the queue worker sends it, not the request"


def test_racing_creates_take_over_a_closed_invitations_claim_once_and_both_stay_listed(app: Services) -> None:
    email, racers = f"taken.over.{time.monotonic_ns()}@contoso.example", 6
    first, _ = app.invitations.create(request(invitee={"email": email, "displayName": "Anna"}), actor="staff", idempotency_key=None)
    app.invitations.revoke(first.id, "staff")
    start = threading.Barrier(racers)

    def create(_: int) -> str:
        start.wait()
        try:
            return app.invitations.create(request(invitee={"email": email, "displayName": "Anna"}), actor="staff", idempotency_key=None)[
                0
            ].id
        except DuplicateInvitation as duplicate:
            return f"409 {duplicate.existing_id}"

    with ThreadPoolExecutor(racers) as pool:
        outcomes = list(pool.map(create, range(racers)))
    [winner] = [outcome for outcome in outcomes if not outcome.startswith("409")]
    assert outcomes.count(f"409 {winner}") == racers - 1, outcomes
    listed = app.invitations.page(ListQuery(email=email))
    assert sorted(item.id for item in listed.value) == sorted([first.id, winner])


def test_a_claim_whose_invitation_was_never_written_holds_the_address_for_a_minute(app: Services, clock: Clock) -> None:
    email = f"crashed.{time.monotonic_ns()}@contoso.example"
    crashed = str(uuid.uuid4())
    assert app.invitations.email_index.claim(email, crashed, clock()) is None  # a create that died after its claim
    body = request(invitee={"email": email, "displayName": "Anna"})
    with pytest.raises(DuplicateInvitation) as refused:
        app.invitations.create(body, actor="staff", idempotency_key=None)
    assert refused.value.existing_id == crashed  # it may still be writing its invitation
    clock.now += timedelta(seconds=61)
    view, created = app.invitations.create(body, actor="staff", idempotency_key=None)
    assert created
    # The crashed create's id stays in the index (an index row now), skipped: it names no invitation.
    assert [item.id for item in app.invitations.page(ListQuery(email=email)).value] == [view.id]


def test_the_allow_list_is_checked_by_the_service_itself(app: Services) -> None:
    with pytest.raises(InvalidInput):
        app.invitations.create(request(redirectUrl="https://evil.example"), actor="staff", idempotency_key=None)


def test_an_idempotency_key_replays_and_refuses_another_body(app: Services) -> None:
    key = f"key-{time.monotonic_ns()}"
    body = request()
    first, created = app.invitations.create(body, actor="staff", idempotency_key=key)
    again, created_again = app.invitations.create(body, actor="staff", idempotency_key=key)
    assert created and not created_again and again.id == first.id
    assert again.email == first.email, "the replay names the same send"
    with pytest.raises(IdempotencyMismatch):
        app.invitations.create(request(), actor="staff", idempotency_key=key)


def test_expiry_comes_from_the_clock(app: Services, clock: Clock) -> None:
    view, _ = app.invitations.create(request(ttlDays=1), actor="staff", idempotency_key=None)
    assert view.email is not None
    app.emails.send(EmailIntent(invitation_id=view.id, send_id=view.email.send_id))
    clock.now += timedelta(days=2)
    invitation = app.invitations.get(view.id)
    assert app.invitations.redemption_block(invitation) == "invitation-expired"
    # A resend renews it, so the link in the new e-mail works.
    assert app.invitations.resend(view.id, "staff").status == InvitationStatus.PENDING


def test_accept_from_a_stale_read_rechecks_and_refuses(app: Services) -> None:
    view, _ = app.invitations.create(request(), actor="staff", idempotency_key=None)
    stale = app.invitations.load(view.id)
    app.invitations.revoke(view.id, "staff")
    with pytest.raises(Conflict) as refused:
        app.invitations.accept(stale, invitee(view.invitee.email))
    assert refused.value.code == "invitation-revoked"


def test_the_same_account_accepting_twice_is_one_acceptance(app: Services) -> None:
    view, _ = app.invitations.create(request(), actor="staff", idempotency_key=None)
    anna = invitee(view.invitee.email)
    loaded = app.invitations.load(view.id)
    app.invitations.accept(loaded, anna)
    assert app.invitations.accept(loaded, anna).status == InvitationStatus.ACCEPTED  # lost the race to itself
    with pytest.raises(Conflict):
        app.invitations.accept(app.invitations.load(view.id), invitee(view.invitee.email, object_id="oid-other"))
    actions = [event.action for event in app.invitations.read(view.id).history]
    assert actions.count("accepted") == 1


def test_create_company_twice_is_one_completion_and_the_worker_one_company(app: Services) -> None:
    view, _ = app.invitations.create(request(), actor="staff", idempotency_key=None)
    anna = invitee(view.invitee.email)
    app.invitations.accept(app.invitations.load(view.id), anna)
    access = app.companies.access(view.id, anna)
    assert access.loaded is not None
    form = company_form(invitation_body()["company"])
    first = app.companies.complete(access.loaded, form, anna)
    second = app.companies.complete(access.loaded, form, anna)  # the double submit, from the same read
    assert first.status == second.status == InvitationStatus.COMPLETED
    assert first.company_id == second.company_id and first.completion and first.completion.status == "pending"
    assert first.company_id is not None and app.companies.store.get(first.company_id) is None  # the decision only
    message = CompanyCreateMessage(invitation_id=view.id, company_id=first.company_id)
    for _ in range(2):  # the message delivered twice
        app.companies.create_from_completion(message)
    invitation = app.invitations.get(view.id)
    company = app.companies.store.get(first.company_id)
    assert company is not None and company.created_by == anna and invitation.company_id == company.id
    assert invitation.completion and invitation.completion.status == "created"
    actions = [event.action for event in app.invitations.read(view.id).history]
    assert actions.count("completed") == actions.count("company-created") == 1
    assert app.companies.access(view.id, anna).finished_url == app.links.welcome()


def test_the_company_page_is_only_for_the_account_that_accepted(app: Services) -> None:
    view, _ = app.invitations.create(request(), actor="staff", idempotency_key=None)
    app.invitations.accept(app.invitations.load(view.id), invitee(view.invitee.email))
    assert app.companies.access(view.id, invitee(view.invitee.email, object_id="oid-other")).not_theirs


def test_a_deleted_table_is_created_again(app: Services, azurite: Azurite) -> None:
    TableServiceClient.from_connection_string(azurite.connection_string).delete_table(INVITATIONS)
    view, created = app.invitations.create(request(), actor="staff", idempotency_key=None)
    assert created and app.invitations.get(view.id).id == view.id


def test_unknown_invitations_are_not_found(app: Services) -> None:
    with pytest.raises(NotFound):
        app.invitations.get("00000000-0000-0000-0000-000000000000")


def test_storage_down_is_unavailable_and_retryable(services_for: ServicesFactory) -> None:
    down = services_for(Settings(storage=SecretStr(closed_storage())))
    with pytest.raises(Unavailable) as error:
        down.invitations.get("00000000-0000-0000-0000-000000000000")
    assert error.value.retryable
    with pytest.raises(Unavailable):
        down.queues.send("invitation-emails", {"id": 1})


def test_queue_messages_are_base64_json_and_the_queue_is_created(app: Services, azurite: Azurite) -> None:
    queue = f"unit-{time.monotonic_ns()}"
    app.queues.send(queue, {"invitationId": "1ce27bca", "attempt": 1})
    raw = QueueClient.from_connection_string(azurite.connection_string, queue)  # no decode policy: the bytes as stored
    [message] = raw.receive_messages()
    assert json.loads(base64.b64decode(message.content)) == {"invitationId": "1ce27bca", "attempt": 1}
