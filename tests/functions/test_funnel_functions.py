"""The funnel's function in-process on an Azurite of its own: after a scripted mix of journeys (through
the staff API's and the e-mail link's functions where they are the way in, the services where a
browser or ACS would be), its counts equal a direct count of the stored invitations' histories;
and it is a staff route like the others."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from accept_invitation.email_link import open_invitation_link
from invite_user.funnel_api import invitation_funnel
from invite_user.invitations_api import create_invitation, revoke_invitation
from shared.domain.models import Completion, DeliveryReport, SignedInUser
from shared.wiring import Services, services
from tests.azurite import Azurite
from tests.functions.conftest import call, configure, request
from tests.support import invitation_body, unique_email
from tests.unit.services.test_funnel import STEP_OF_ACTION


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The app on an Azurite of this module's own: the direct count reads every stored invitation."""
    with Azurite(tmp_path_factory.mktemp("funnel-azurite")) as storage, pytest.MonkeyPatch.context() as monkeypatch:
        configure(monkeypatch, STORAGE=storage.connection_string, OUTBOX_DIR=str(tmp_path_factory.mktemp("funnel-outbox")))
        yield services()
        configure(monkeypatch)


def funnel(**headers: str) -> func.HttpResponse:
    return call(invitation_funnel, request("GET", "/api/invitations/funnel", headers=headers))


def create(email: str) -> str:
    body = json.dumps(invitation_body(invitee={"email": email, "displayName": "Anna"})).encode()
    response = call(create_invitation, request("POST", "/api/invitations", body=body, headers={"Content-Type": "application/json"}))
    assert response.status_code == 201, response.get_body()
    created: dict[str, Any] = json.loads(response.get_body())
    return str(created["id"])


def deliver(app: Services, invitation_id: str, state: str = "delivered") -> None:
    email = app.invitations.get(invitation_id).email
    assert email is not None
    report = DeliveryReport.model_validate({"operationId": email.send_id, "state": state, "at": app.invitations.clock()})
    app.invitations.settle_email(invitation_id, report, actor="acs")


def open_link(invitation_id: str) -> None:
    assert call(open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": invitation_id})).status_code in (302, 503)


def sign_in_and_complete(app: Services, invitation_id: str, email: str, *, complete: bool) -> None:
    user = SignedInUser(object_id=str(uuid.uuid4()), email=email, name="Anna", account_type="local")
    app.invitations.accept(app.invitations.load(invitation_id), user)
    if complete:
        invitation = app.invitations.get(invitation_id)
        now = app.invitations.clock()
        completion = Completion(
            company_id=str(uuid.uuid4()), company=invitation.company, contact_name="Anna", account=user, completed_at=now, updated_at=now
        )
        app.invitations.complete(app.invitations.load(invitation_id), completion)


def test_the_funnel_counts_equal_a_direct_count_of_the_stored_invitations(app: Services) -> None:
    emails = [unique_email("funnel") for _ in range(6)]
    ids = [create(email) for email in emails]
    for index in (0, 1, 2, 3):
        deliver(app, ids[index])
    deliver(app, ids[4], "bounced")
    for index in (0, 1, 2, 3):
        open_link(ids[index])
    open_link(ids[0])  # opened again: not counted again
    sign_in_and_complete(app, ids[0], emails[0], complete=True)
    sign_in_and_complete(app, ids[1], emails[1], complete=False)
    assert call(revoke_invitation, request("POST", "/api/invitations/x/revoke", route_params={"id": ids[5]})).status_code == 200
    app.invitations.finish_handovers()

    response = funnel()
    assert response.status_code == 200, response.get_body()
    answer = json.loads(response.get_body())
    stored, token = app.invitations.store.query(None, app.invitations.clock(), 200, None)
    assert token is None and {invitation.id for invitation in stored} == set(ids)
    direct = Counter(
        STEP_OF_ACTION[event.action]
        for invitation in stored
        for event in app.invitations.read(invitation.id).history
        if event.action in STEP_OF_ACTION
    )
    assert answer["counts"] == {step: direct.get(step, 0) for step in answer["counts"]}
    assert answer["counts"] == {
        "created": 6,
        "delivered": 4,
        "opened": 4,
        "signedIn": 2,
        "completed": 1,
        "revoked": 1,
        "expired": 0,
        "bounced": 1,
    }
    assert answer["durations"]["openedToSignedIn"]["samples"] == 2
    assert answer["stalled"] == []  # nothing has waited FUNNEL_STALLED_AFTER_HOURS yet


def test_the_funnel_is_a_staff_route(app: Services) -> None:
    refused = funnel(Authorization="Basic abc")
    assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
    reversed_range = call(invitation_funnel, request("GET", "/api/invitations/funnel", params={"from": "2030-03-05", "to": "2030-03-01"}))
    assert reversed_range.status_code == 400, reversed_range.get_body()
