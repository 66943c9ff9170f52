"""The anonymous routes spend their client's budget (web/client_budget.py), in-process on Azurite:
a client probing ids runs out of it after a few probes, another client does not notice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from accept_invitation.admin_consent import admin_consent_callback, admin_consent_help
from accept_invitation.email_link import open_invitation_link
from accept_invitation.sign_in_callback import sign_in_callback
from create_company.company_page import company_page, create_company
from shared.domain.models import InvitationRequest
from shared.wiring import Services
from tests.functions.conftest import call, request
from tests.support import invitation_body
from web import client_budget
from web.client_budget import MISS_COST, TokenBuckets

PROBER, INVITEE = "203.0.113.7:50123", "198.51.100.20:443"  # as the front end writes them: address and port
BURST = 20


@pytest.fixture
def budget(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenBuckets]:
    """Every client's budget: BURST requests on a clock that stands still (no refill mid-test)."""
    buckets = TokenBuckets(per_minute=60, burst=BURST, clock=lambda: 0.0)
    monkeypatch.setattr(client_budget, "_buckets", lambda per_minute, burst: buckets)
    yield buckets


def link(invitation_id: str, client: str) -> Any:
    return call(
        open_invitation_link, request("GET", "/api/InviteUser", params={"invitationId": invitation_id}, headers={"X-Forwarded-For": client})
    )


def test_a_prober_is_refused_after_a_few_unknown_ids_while_an_invitee_gets_through(app: Services, budget: TokenBuckets) -> None:
    view, _ = app.invitations.create(InvitationRequest.model_validate(invitation_body()), actor="t", idempotency_key=None)
    statuses = [link(f"00000000-0000-4000-8000-{n:012d}", PROBER).status_code for n in range(BURST)]
    assert statuses == [404] * (BURST // MISS_COST) + [429] * (BURST - BURST // MISS_COST)
    assert link("not-a-uuid", PROBER).status_code == 429  # malformed: refused too, before parsing
    refused = link(view.id, PROBER)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert 'data-kind="too-many-requests"' in refused.get_body().decode()
    # The genuine invitee, from another address, reaches the sign-in (B2C is down in these tests: its 503 page).
    assert link(view.id, INVITEE).status_code == 503


@pytest.mark.parametrize(
    ("function", "method", "url"),
    [
        (open_invitation_link, "GET", "/api/InviteUser"),
        (sign_in_callback, "GET", "/api/InviteUser/callback"),
        (company_page, "GET", "/api/CreateCompany"),
        (create_company, "POST", "/api/CreateCompany"),
        (admin_consent_help, "GET", "/api/AdminConsent"),
        (admin_consent_callback, "GET", "/api/AdminConsent/callback"),
    ],
)
def test_every_anonymous_page_spends_the_budget(app: Services, budget: TokenBuckets, function: Any, method: str, url: str) -> None:
    budget.charge("203.0.113.7", BURST)  # the prober's budget, spent
    response = call(function, request(method, url, headers={"X-Forwarded-For": PROBER, "Accept-Language": "fr"}))
    assert response.status_code == 429 and response.mimetype == "text/html"
    assert "Trop de demandes" in response.get_body().decode()
