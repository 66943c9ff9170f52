"""Round-trip budgets: exactly which storage (and B2C) requests each route and worker makes.

The functions run in-process with the app's storage endpoints pointed at a counting proxy in
front of Azurite (tests/counting_proxy.py), so every request that reaches the wire is counted,
retries included. Counts do not depend on the machine's speed: a route that starts making one
more round trip fails here. docs/explanation/performance.md summarises these counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import azure.functions as func
import pytest
import requests

from accept_invitation.email_link import open_invitation_link
from accept_invitation.sign_in_callback import sign_in_callback
from create_company.company_page import create_company
from create_company.company_worker import create_company_from_completion
from invite_user.email_queue import send_invitation_email
from invite_user.funnel_api import invitation_funnel
from invite_user.invitations_api import (
    create_invitation,
    get_invitation,
    list_invitations,
    resend_invitation,
    reset_invitation,
    revoke_invitation,
)
from invite_user.sweeper import sweep_outstanding_intents
from shared.adapters.tables import BATCHES
from shared.domain.models import InvitationRequest, SignedInUser
from shared.presentation import company_form
from shared.queue_names import COMPANY_CREATE, INVITATION_EMAIL, INVITATION_EVENTS
from shared.wiring import Services, services
from tests.azurite import Azurite
from tests.counting_proxy import CountingProxy
from tests.functions.conftest import APP_URL, call, configure, request
from tests.support import invitation_body, unique_email
from tests.test_invitee_pages import Invitee
from web.cookies import invitee_session, session_cookie

Budget = dict[tuple[str, str], int]
INVITATIONS, EMAILS, EVENTS, COMPANIES = "Invitations", INVITATION_EMAIL, INVITATION_EVENTS, COMPANY_CREATE
BY_EMAIL, USERS, FUNNEL = "InvitationsByEmail", "Users", "Funnel"
# After every step's write, on a hand-over thread (the answer does not wait): its day's row in the
# funnel's rollup, read and replaced guarded by its ETag (shared/adapters/tables/funnel.py).
ROLLUP: Budget = {(FUNNEL, "point-read"): 1, (FUNNEL, "replace"): 1}


class B2CRequests:
    """Counts the requests MSAL sends to B2C, the only HTTPS peer here (every requests.Session.send goes through, unchanged)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        send = requests.Session.send

        def counted(session: requests.Session, prepared: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            self.count += prepared.url is not None and prepared.url.startswith("https://")  # storage goes through the proxy over http
            return send(session, prepared, **kwargs)

        monkeypatch.setattr(requests.Session, "send", counted)


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """An Azurite of this module's own: the sweeper's round trips are counted over every row it scans,
    and the modules run before this one on the same worker leave invitations it would sweep."""
    with Azurite(tmp_path_factory.mktemp("round-trips-azurite")) as running:
        yield running


@pytest.fixture(scope="module")
def counted(storage: Azurite, idp: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, CountingProxy]]:
    """The app on Azurite through the counting proxy, warmed up: tables and queues exist, B2C's metadata is cached."""
    issuer, ca_file = idp
    with CountingProxy(storage.table_port, storage.queue_port) as proxy, pytest.MonkeyPatch.context() as monkeypatch:
        configure(
            monkeypatch,
            STORAGE=proxy.connection_string,
            OUTBOX_DIR=str(tmp_path_factory.mktemp("budget-outbox")),
            B2C_AUTHORITY_HOST=issuer,
            REQUESTS_CA_BUNDLE=str(ca_file),
            SESSION_SECRET="budget-test-session-secret-32-characters",
        )
        app = services()
        for queue in (EMAILS, EVENTS, COMPANIES):
            app.queues.send(queue, {"warm-up": True})
        open_link(new_invitation(app))  # MSAL's discovery happens once per process
        yield app, proxy
        configure(monkeypatch)


def new_invitation(app: Services, **overrides: Any) -> str:
    body = InvitationRequest.model_validate(invitation_body(**overrides))
    invitation_id = app.invitations.create(body, actor="t", idempotency_key=None)[0].id
    app.invitations.finish_handovers()  # its e-mail's enqueue, so no later measure counts it
    return invitation_id


def open_link(invitation_id: str) -> func.HttpResponse:
    return call(open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": invitation_id}))


def staff(method: str, path: str, invitation_id: str = "", **kwargs: Any) -> func.HttpRequest:
    return request(method, path, route_params={"id": invitation_id}, **kwargs)


def measure(proxy: CountingProxy, action: Any) -> Budget:
    """What `action` sends, including the e-mail a create hands to the queue after answering."""
    proxy.reset()
    action()
    services().invitations.finish_handovers()
    return proxy.counts()


def user(email: str) -> SignedInUser:
    return SignedInUser(object_id="7b0d4c1e-0000-4000-8000-000000000001", email=email, name="Anna", account_type="local")


def accepted(app: Services) -> tuple[str, SignedInUser]:
    email = unique_email("budget")
    invitation_id = new_invitation(app, invitee={"email": email, "displayName": "Anna"})
    account = user(email)
    app.invitations.accept(app.invitations.load(invitation_id), account)
    app.invitations.finish_handovers()  # the funnel's rollup, so no later measure counts it
    return invitation_id, account


def message(payload: dict[str, Any]) -> func.QueueMessage:
    return func.QueueMessage(body=json.dumps(payload).encode())


def test_the_email_link_is_one_point_read(counted: tuple[Services, CountingProxy], monkeypatch: pytest.MonkeyPatch) -> None:
    app, proxy = counted
    invitation_id = new_invitation(app)
    b2c = B2CRequests(monkeypatch)
    response: list[func.HttpResponse] = []
    # The first open adds one guarded write, recording it (`link-opened`, no lifecycle event); after the
    # answer, the funnel counts it and lists the invitation in its stall index (an upsert).
    assert measure(proxy, lambda: response.append(open_link(invitation_id))) == {
        (INVITATIONS, "point-read"): 1,
        (INVITATIONS, "replace"): 1,
        **ROLLUP,
        (FUNNEL, "upsert"): 1,
    }
    # Every later open: the sign-in's flow goes into the cookie, nothing is written.
    assert measure(proxy, lambda: response.append(open_link(invitation_id))) == {(INVITATIONS, "point-read"): 1}
    assert [r.status_code for r in response] == [302, 302] and b2c.count == 0  # the auth URL is built locally from cached metadata
    assert "Set-Cookie" in response[1].headers


def test_the_sign_in_callback(counted: tuple[Services, CountingProxy], idp: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    app, proxy = counted
    email = unique_email("callback")
    invitation_id = new_invitation(app, invitee={"email": email, "displayName": "Anna"})
    link = open_link(invitation_id)
    app.invitations.finish_handovers()  # the first open's funnel count
    cookie = link.headers["Set-Cookie"].split(";")[0]
    browser = Invitee(SimpleNamespace(base_url=APP_URL, ca_bundle=idp[1]), {"id": invitation_id, "invitee": {"email": email}})
    answer = {key: values[0] for key, values in parse_qs(urlparse(browser.at_idp(link.headers["Location"])).query).items()}

    def callback(params: dict[str, str], cookie: str = cookie) -> func.HttpResponse:
        return call(sign_in_callback, request("GET", "/api/InviteUser/callback", params=params, headers={"Cookie": cookie}))

    b2c = B2CRequests(monkeypatch)
    # Another state than the cookie's (another tab replaced the flow): no B2C request, one read to resume
    # with a fresh sign-in; no cookie at all: nothing to resume, no request.
    resumed: list[func.HttpResponse] = []
    assert measure(proxy, lambda: resumed.append(callback({**answer, "state": "another"}))) == {(INVITATIONS, "point-read"): 1}
    assert measure(proxy, lambda: resumed.append(callback(answer, cookie=""))) == {}
    assert [r.status_code for r in resumed] == [303, 400] and b2c.count == 0
    assert resumed[0].headers["Location"].endswith(f"/api/InviteUser?invitationId={invitation_id}")
    # The sign-in: the invitation (its ETag guards the accept), the code redeemed at B2C, the user, the accept.
    response: list[func.HttpResponse] = []
    assert measure(proxy, lambda: response.append(callback(answer))) == {
        (INVITATIONS, "point-read"): 1,
        (USERS, "merge"): 1,  # the account's latest sign-in (an upsert)
        (INVITATIONS, "replace"): 1,  # accepted, its audit event in the row's History
        (EVENTS, "enqueue"): 1,  # the `accepted` lifecycle event
        **ROLLUP,
        (FUNNEL, "upsert"): 1,  # signed in: the stall index's stage
    }
    assert response[0].status_code == 302 and response[0].headers["Location"].endswith("/api/CreateCompany")
    assert b2c.count == 1  # the token request
    # The same answer again with the same cookie: B2C redeems a code once; the invitee signs in afresh
    # (B2C's session makes that one click or none), never an "already used" page.
    replay: list[func.HttpResponse] = []
    assert measure(proxy, lambda: replay.append(callback(answer))) == {(INVITATIONS, "point-read"): 1}
    assert replay[0].status_code == 303 and b2c.count == 2
    assert replay[0].headers["Location"].endswith(f"/api/InviteUser?invitationId={invitation_id}")


def test_a_single_read_is_one_point_read(counted: tuple[Services, CountingProxy]) -> None:
    app, proxy = counted
    invitation_id = new_invitation(app)
    app.invitations.revoke(invitation_id, "t")  # a trail of two: `created` in the row's Data, `revoked` in its History
    app.invitations.finish_handovers()
    response: list[func.HttpResponse] = []
    assert measure(proxy, lambda: response.append(call(get_invitation, staff("GET", "/api/invitations/x", invitation_id)))) == {
        (INVITATIONS, "point-read"): 1,
    }
    assert [row["action"] for row in json.loads(response[0].get_body())["history"]] == ["created", "revoked"]


def test_create_is_the_addresss_claim_one_insert_and_the_emails_enqueue(counted: tuple[Services, CountingProxy]) -> None:
    app, proxy = counted
    address = unique_email("claimed")
    body = json.dumps(invitation_body(invitee={"email": address, "displayName": "Anna"})).encode()
    headers = {"Content-Type": "application/json"}
    response: list[func.HttpResponse] = []
    create = staff("POST", "/api/invitations", body=body, headers=headers)
    # The claim lists the invitation under its address; the `created` event is in the invitation row,
    # published by the e-mail worker's write.
    assert measure(proxy, lambda: response.append(call(create_invitation, create))) == {
        (BY_EMAIL, "insert"): 1,  # the address's claim, written first
        (INVITATIONS, "insert"): 1,  # the invitation, its `created` event inside
        (EMAILS, "enqueue"): 1,
        **ROLLUP,
    }
    assert response[0].status_code == 201 and json.loads(response[0].get_body())["history"][0]["action"] == "created"
    first = json.loads(response[0].get_body())["id"]
    # The same address again: the claim, the claim's holder and its invitation, then the 409.
    duplicate: list[func.HttpResponse] = []
    assert measure(proxy, lambda: duplicate.append(call(create_invitation, create))) == {
        (BY_EMAIL, "insert"): 1,
        (BY_EMAIL, "point-read"): 1,
        (INVITATIONS, "point-read"): 1,
    }
    assert duplicate[0].status_code == 409
    # Deliberately a second one: an index row instead of the claim.
    deliberate = json.dumps(invitation_body(invitee={"email": address, "displayName": "Anna"}, allowDuplicate=True)).encode()
    assert measure(proxy, lambda: call(create_invitation, staff("POST", "/api/invitations", body=deliberate, headers=headers))) == {
        (BY_EMAIL, "merge"): 1,
        (INVITATIONS, "insert"): 1,
        (EMAILS, "enqueue"): 1,
        **ROLLUP,
    }
    # Once the holder is closed, the next create takes the claim over, listing the former holder in the same write.
    app.invitations.revoke(first, "t")
    app.invitations.finish_handovers()
    assert measure(proxy, lambda: call(create_invitation, create)) == {
        (BY_EMAIL, "insert"): 1,
        (BY_EMAIL, "point-read"): 1,
        (INVITATIONS, "point-read"): 1,
        (BY_EMAIL, "transaction"): 1,  # the claim, ETag-guarded, and the former holder's index row
        (INVITATIONS, "insert"): 1,
        (EMAILS, "enqueue"): 1,
        **ROLLUP,
    }

    body = json.dumps(invitation_body()).encode()
    keyed = staff("POST", "/api/invitations", body=body, headers={**headers, "Idempotency-Key": unique_email("key")})
    assert measure(proxy, lambda: call(create_invitation, keyed)) == {
        ("IdempotencyKeys", "insert"): 1,
        (BY_EMAIL, "insert"): 1,
        (INVITATIONS, "insert"): 1,
        (EMAILS, "enqueue"): 1,
        **ROLLUP,
    }
    # A replay: the key's claim, then the invitation it names (one point read, history included).
    assert measure(proxy, lambda: call(create_invitation, keyed)) == {
        ("IdempotencyKeys", "insert"): 1,
        ("IdempotencyKeys", "point-read"): 1,
        (INVITATIONS, "point-read"): 1,
    }


@pytest.mark.parametrize("table_size", [0, 60])
def test_list_by_email_is_one_partition_query_whatever_the_table_size(counted: tuple[Services, CountingProxy], table_size: int) -> None:
    app, proxy = counted
    for _ in range(table_size):
        new_invitation(app)
    email = unique_email("Listed")
    # The address's open invitation (listed by its claim) and two deliberate duplicates (index rows).
    ids = {new_invitation(app, invitee={"email": email, "displayName": "Listed"}, allowDuplicate=n > 0) for n in range(3)}
    response: list[func.HttpResponse] = []
    listing = request("GET", "/api/invitations", params={"email": email.upper()})
    # The e-mail index's partition, then each listed invitation's row (the truth), never a scan.
    assert measure(proxy, lambda: response.append(call(list_invitations, listing))) == {
        (BY_EMAIL, "partition-query"): 1,
        (INVITATIONS, "point-read"): 3,
    }
    assert {item["id"] for item in json.loads(response[0].get_body())["value"]} == ids


def test_revoke_resend_and_reset(counted: tuple[Services, CountingProxy]) -> None:
    app, proxy = counted
    invitation_id, _ = accepted(app)
    transition = {(INVITATIONS, "point-read"): 1, (INVITATIONS, "replace"): 1}
    # Reset: read (with the history the answer carries), one guarded write, its lifecycle event; then
    # the invitation leaves the funnel's stall index (a reset is no funnel step: no rollup).
    reset = staff("POST", "/api/invitations/x/reset", invitation_id)
    assert measure(proxy, lambda: call(reset_invitation, reset)) == {**transition, (EVENTS, "enqueue"): 1, (FUNNEL, "delete"): 1}
    # Resend while the first send is still queued: that send is the answer, nothing is written.
    resend = staff("POST", "/api/invitations/x/resend", invitation_id)
    assert measure(proxy, lambda: call(resend_invitation, resend)) == {(INVITATIONS, "point-read"): 1}
    revoke = staff("POST", "/api/invitations/x/revoke", invitation_id)
    # Revoke: counted in the rollup; never opened nor signed in since the reset, so not in the stall index.
    assert measure(proxy, lambda: call(revoke_invitation, revoke)) == {**transition, (EVENTS, "enqueue"): 1, **ROLLUP}


def test_create_company_and_its_worker(counted: tuple[Services, CountingProxy]) -> None:
    app, proxy = counted
    invitation_id, account = accepted(app)
    cookie = session_cookie(invitation_id, account).split(";")[0]
    session = invitee_session(request("GET", "/api/CreateCompany", headers={"Cookie": cookie}))
    assert session is not None
    form = {**company_form.initial_values(app.invitations.get(invitation_id), account), "csrf_token": session.csrf_token}
    body = urlencode(form).encode()
    post = request("POST", "/api/CreateCompany", body=body, headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response: list[func.HttpResponse] = []
    assert measure(proxy, lambda: response.append(call(create_company, post))) == {
        (INVITATIONS, "point-read"): 1,
        (INVITATIONS, "replace"): 1,
        (COMPANIES, "enqueue"): 1,
        (EVENTS, "enqueue"): 1,  # `completed`
        **ROLLUP,
        (FUNNEL, "delete"): 1,  # out of the stall index
    }
    assert response[0].status_code == 303, response[0].get_body()[:2000]
    invitation = app.invitations.get(invitation_id)
    assert invitation.completion is not None
    worker = create_company_from_completion.build().get_user_function()
    job = message({"invitationId": invitation_id, "companyId": invitation.completion.company_id})
    assert measure(proxy, lambda: worker(job)) == {
        (INVITATIONS, "point-read"): 1,
        ("Companies", "transaction"): 1,  # company + admin membership
        (INVITATIONS, "replace"): 1,
        (EVENTS, "enqueue"): 3,  # settles the pending `created` (no e-mail worker ran here), `accepted` and `completed`
    }


def test_the_email_worker_and_the_sweeper(counted: tuple[Services, CountingProxy]) -> None:
    app, proxy = counted
    invitation_id = new_invitation(app)
    send = app.invitations.get(invitation_id).email
    assert send is not None
    worker = send_invitation_email.build().get_user_function()
    job = message({"invitationId": invitation_id, "sendId": send.send_id})
    assert measure(proxy, lambda: worker(job)) == {
        (INVITATIONS, "point-read"): 1,  # its ETag guards the write that records the send
        ("TenantDomains", "point-read"): 1,  # the invitee domain's kept lookup; Entra is down here, so nothing more
        ("EmailOperations", "merge"): 1,  # operation id → invitation, before the send
        (INVITATIONS, "replace"): 1,
        (EVENTS, "enqueue"): 2,  # settles the pending `created`, then `email-sent`
    }
    assert measure(proxy, lambda: worker(job)) == {(INVITATIONS, "point-read"): 1}  # a repeated message: a no-op
    sweep = sweep_outstanding_intents.build().get_user_function()
    # Nothing due costs two filtered queries (budget 2): invitations with OutstandingSince or
    # ExpiryUnreported (open ones whose expiry passed), and batch headers with OutstandingSince.
    assert measure(proxy, lambda: sweep(None)) == {(INVITATIONS, "scan"): 1, (BATCHES, "scan"): 1}


@pytest.mark.parametrize("table_size", [10, 200])
def test_the_funnel_is_two_partition_queries_whatever_the_table_size(counted: tuple[Services, CountingProxy], table_size: int) -> None:
    app, proxy = counted
    for n in range(table_size):
        invitation_id = new_invitation(app)
        if n % 5 == 0:
            open_link(invitation_id)  # some in the stall index too
    app.invitations.finish_handovers()
    response: list[func.HttpResponse] = []
    # The range's day rows and the stall candidates: never the invitations.
    assert measure(proxy, lambda: response.append(call(invitation_funnel, request("GET", "/api/invitations/funnel")))) == {
        (FUNNEL, "partition-query"): 2,
    }
    assert json.loads(response[0].get_body())["counts"]["created"] >= table_size
