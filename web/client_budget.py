"""A per-client request budget on the anonymous routes: a token bucket per client address, in memory
per instance, the cheap second line behind the platform's rate limit (docs/decisions/0015-where-volume-limits-live.md)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import azure.functions as func

from shared.settings import get_settings
from web.pages import message_response, request_language

log = logging.getLogger(__name__)

# A request answered 400 or 404 (a malformed or unknown id, a stale callback: what a prober gets)
# costs this many tokens in all; any other answer costs one.
MISS_COST = 5
MISSES = frozenset({400, 404})
# Addresses remembered per instance; the least recently seen is forgotten first (a full bucket, most likely).
MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    at: float
    refusing: bool = False


class TokenBuckets:
    """`burst` tokens per client, refilled at `per_minute`; a request takes one when there is one."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS) -> None:
        self._per_second = per_minute / 60
        self._burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()  # the worker (and the dev host) serve requests on several threads

    def take(self, client: str) -> int | None:
        """None when the client may go on (one token taken), else the seconds until it may."""
        with self._lock:
            bucket = self._refilled(client)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                bucket.refusing = False
                return None
            first_refusal, bucket.refusing = not bucket.refusing, True
            wait = max(1, math.ceil((1 - bucket.tokens) / self._per_second))
        if first_refusal:  # once per run of refusals, and no address: it is personal data; the WAF's log has it
            log.warning("A client went over the anonymous budget: refused for %d s", wait)
        return wait

    def charge(self, client: str, tokens: float) -> None:
        """Take more after the answer showed what the request was (a debt the refill pays off)."""
        with self._lock:
            self._refilled(client).tokens -= tokens

    def _refilled(self, client: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(self._burst, now)
            if len(self._buckets) > self._max_clients:
                self._buckets.popitem(last=False)
            return bucket
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        self._buckets.move_to_end(client)
        return bucket


def client_address(req: func.HttpRequest) -> str | None:
    """The client: X-Forwarded-For's first hop as the Functions front end sets it (`ip` or `ip:port`),
    an IPv6 client by its /64 (one subscriber's network). None without the header: the worker is never
    told the peer, and only local tools (the dev host) call without it."""
    first = req.headers.get("x-forwarded-for", "").split(",")[0].strip()
    if not first:
        return None
    if first.startswith("["):  # [v6]:port
        first = first[1:].split("]")[0]
    elif first.count(":") == 1:  # v4:port
        first = first.split(":")[0]
    try:
        address = ipaddress.ip_address(first)
    except ValueError:
        return first[:64]  # not an address: still one key per value, bounded
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:  # ::ffff:a.b.c.d is an IPv4 client; its /64 would be everyone's
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@functools.lru_cache(maxsize=1)
def _buckets(per_minute: int, burst: int) -> TokenBuckets:
    return TokenBuckets(per_minute, burst)


def anonymous_budget(handler: Callable[[func.HttpRequest], func.HttpResponse]) -> Callable[[func.HttpRequest], func.HttpResponse]:
    """Refuse a client over its budget with a 429 page (Retry-After, in the browser's language, with
    "Try again"); an answer in MISSES costs MISS_COST. Goes under @page_errors."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        client = client_address(req)
        if client is None:
            return handler(req)
        settings = get_settings()
        buckets = _buckets(settings.anonymous_requests_per_minute, settings.anonymous_burst)
        if wait := buckets.take(client):
            # "Try again" repeats a GET as it was; after a POST it reloads the page (a GET).
            return message_response("too-many-requests", request_language(req), 429, action_url=req.url.split("#")[0], retry_after=wait)
        response = handler(req)
        if response.status_code in MISSES:
            buckets.charge(client, MISS_COST - 1)
        return response

    return wrapper
