"""The per-client budget of the anonymous routes: the token bucket on a clock the test sets, the
client's address, and the decorator's answers (web/client_budget.py)."""

from __future__ import annotations

from collections.abc import Callable

import azure.functions as func
import pytest

from web import client_budget
from web.client_budget import MISS_COST, TokenBuckets, anonymous_budget, client_address


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(forwarded_for: str | None = None, **headers: str) -> func.HttpRequest:
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return func.HttpRequest("GET", "http://localhost:7071/api/InviteUser?invitationId=x", headers=headers, body=b"")


def test_a_burst_is_allowed_then_refused_until_the_refill() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [None, None, None]
    assert buckets.take("a") == 1  # one token a second: back in a second
    clock.now += 0.5
    assert buckets.take("a") == 1  # half a token is not a request (rounded up to a whole second)
    clock.now += 0.5
    assert buckets.take("a") is None
    assert buckets.take("a") == 1


def test_the_refill_stops_at_the_burst() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=2, clock=clock)
    buckets.take("a")
    clock.now += 3600
    assert [buckets.take("a") for _ in range(3)] == [None, None, 1]


def test_clients_have_their_own_budgets() -> None:
    buckets = TokenBuckets(per_minute=1, burst=1, clock=Clock())
    assert buckets.take("a") is None and buckets.take("a") == 60
    assert buckets.take("b") is None


def test_a_charge_is_a_debt_the_refill_pays_off() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=5, clock=clock)
    assert buckets.take("a") is None
    buckets.charge("a", 8)  # 5 - 1 - 8 = -4
    assert buckets.take("a") == 5  # needs 1 token: 5 seconds
    clock.now += 5
    assert buckets.take("a") is None


def test_the_least_recently_seen_client_is_forgotten_beyond_the_limit() -> None:
    buckets = TokenBuckets(per_minute=1, burst=1, clock=Clock(), max_clients=2)
    for client in ("a", "b"):
        assert buckets.take(client) is None
    assert buckets.take("a") == 60  # a is now the most recently seen
    assert buckets.take("c") is None  # b is forgotten
    assert buckets.take("a") == 60
    assert buckets.take("b") is None  # a fresh bucket


@pytest.mark.parametrize(
    ("header", "client"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (" 203.0.113.7 ,10.0.0.1:443", "203.0.113.7"),
        ("[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
        ("[::ffff:203.0.113.7]:443", "203.0.113.7"),
        ("not an address", "not an address"),
        ("x" * 200, "x" * 64),
        ("", None),
    ],
)
def test_the_client_is_the_first_hop_of_x_forwarded_for(header: str, client: str | None) -> None:
    assert client_address(request(header)) == client


def test_a_request_without_x_forwarded_for_has_no_client() -> None:
    assert client_address(request()) is None


@pytest.fixture
def budget(monkeypatch: pytest.MonkeyPatch) -> TokenBuckets:
    """The decorator's buckets: burst 10, one a minute, on a clock that stands still."""
    buckets = TokenBuckets(per_minute=1, burst=10, clock=Clock())
    monkeypatch.setattr(client_budget, "_buckets", lambda per_minute, burst: buckets)
    return buckets


def answering(status: int) -> Callable[[func.HttpRequest], func.HttpResponse]:
    @anonymous_budget
    def handler(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok", status_code=status)

    return handler


def test_over_budget_is_a_429_page_in_the_browser_language_with_retry_after(budget: TokenBuckets) -> None:
    handler = answering(302)
    for _ in range(10):
        assert handler(request("203.0.113.7")).status_code == 302
    refused = handler(request("203.0.113.7", **{"Accept-Language": "de-CH,de;q=0.9"}))
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert int(refused.headers["Retry-After"]) == 60
    page = refused.get_body().decode()
    assert 'data-kind="too-many-requests"' in page and "Zu viele Anfragen" in page
    assert "Erneut versuchen" in page and "/api/InviteUser?invitationId=x" in page  # the next step: the same link, later
    assert handler(request("198.51.100.20")).status_code == 302


def test_an_unknown_or_malformed_id_costs_more_than_a_valid_one(budget: TokenBuckets) -> None:
    probes, visits = answering(404), answering(302)
    assert [probes(request("203.0.113.7")).status_code for _ in range(3)] == [404, 404, 429]
    statuses = [visits(request("198.51.100.20")).status_code for _ in range(11)]
    assert statuses == [302] * 10 + [429]
    assert MISS_COST > 1


def test_requests_without_a_client_address_are_not_counted(budget: TokenBuckets) -> None:
    handler = answering(404)
    assert {handler(request()).status_code for _ in range(20)} == {404}
