"""Helpers for tests of every project: mint access tokens as the user service would.

Not imported by running code. Signs with the development key under var/ (tests run with
APP_ENV=development), whose public half every project trusts in development. Importing
it imports no Django (each helper imports what it needs), so end-to-end tests use it too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

T = TypeVar("T")


def access_token(
    *,
    user_id: int = 1,
    username: str = "alice",
    is_staff: bool = False,
    is_superuser: bool = False,
    lifetime: timedelta | None = None,
    **claims: Any,
) -> str:
    """A signed RS256 access token with the contract's claims (overridable)."""
    from common.identity.jwt import AccessToken, KeyRing, KidTokenBackend
    from common.settings.env import jwt_private_key

    backend = KidTokenBackend(KeyRing(), jwt_private_key())
    token = AccessToken()
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    token["user_id"] = user_id
    token["username"] = username
    token["is_staff"] = is_staff
    token["is_superuser"] = is_superuser
    for name, value in claims.items():
        token[name] = value
    return backend.encode(token.payload)


def sign_on_token(
    *,
    user_id: int = 7,
    username: str = "ops",
    is_staff: bool = True,
    is_superuser: bool = False,
    cv: int = 0,
    lifetime: timedelta | None = None,
    **claims: Any,
) -> str:
    """A signed admins' sign-on credential (the admin_sso cookie) as the user service
    would issue it (common.identity.jwt.AdminSignOnToken)."""
    from common.identity.jwt import AdminSignOnToken, KeyRing, KidTokenBackend
    from common.settings.env import jwt_private_key

    backend = KidTokenBackend(KeyRing(), jwt_private_key())
    token = AdminSignOnToken()
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    values = {"user_id": user_id, "username": username, "is_staff": is_staff}
    values.update(is_superuser=is_superuser, cv=cv, **claims)
    for name, value in values.items():
        token[name] = value
    return backend.encode(token.payload)


def sign_on_status(**fields: Any) -> dict[str, Any]:
    """The user service's answer to an admin's re-check (GET /internal/users/status)."""
    status = {
        "username": "ops",
        "is_active": True,
        "is_staff": True,
        "is_superuser": False,
        "credential_version": 0,
        "signed_out": False,
    }
    return {**status, **fields}


def authorization(token: str) -> dict[str, str]:
    """Headers that carry a token the test already has (one it logged in for, say)."""
    return {"Authorization": f"Bearer {token}"}


def bearer(**claims: Any) -> dict[str, str]:
    """Headers with a freshly minted access token (access_token's claims), for Django's test
    client / APIClient: `api_client.get(url, headers=bearer(is_staff=True))`."""
    return authorization(access_token(**claims))


def scraped_sample(client: Any, name: str) -> float:
    """The one sample of an unlabelled metric on this project's /metrics page (no pid
    label: a multiprocess gauge must keep one value)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    lines = [line for line in response.content.decode().splitlines() if line.startswith(f"{name} ")]
    assert len(lines) == 1, "one sample, no pid label"
    return float(lines[0].split()[1])


def clear_own_cache() -> None:
    """Empty this test run's cache keys only.

    django-redis's `cache.clear()` flushes the whole Redis database: every other
    project's, test run's and running stack's keys with it.
    """
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 10.0,
    every: float = 0.02,
    what: str | Callable[[], str] = "",
) -> T:
    """Poll `condition()` until it answers something true, and return that; AssertionError
    after `timeout` seconds (the last answer and `what` in its message). For a test that
    waits for something to happen (a TTL run out, a thread's work, a process's log line):
    it goes on as soon as it has, and a busy machine only makes it wait longer. `what` may
    be a callable, asked only on failure (say, a log's last lines)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"not within {timeout} s: {said or condition} (last: {found!r})")
        time.sleep(every)


def reset_state() -> None:
    """Forget what this process keeps between requests, as a fresh process would start:
    every forgetting registered with `common.settings.namespaces.on_test_reset` (login and
    throttle counters, remembered tokens and revocation lookups, breakers and
    registrations, the response cache, dashboard traffic, kept health answers and API
    documents, warn-once flags). The autouse fixture of devtools/pytest_plugin.py runs it
    before every test of a Django suite; a test calls it itself only to start over."""
    from common.settings.namespaces import registered_resets

    for forget in registered_resets():
        forget()


# `?p=` values that name no page of a changelist with one page: each must be 404.
NO_SUCH_PAGES = {
    "past the end": "2",
    "zero": "0",
    "negative": "-1",
    "not a number": "abc",
    "an exponent": "1e3",
    "past BIGINT": "9" * 20,
    "5000 digits": "9" * 5000,
}
# What admin_page_statuses must find (common.identity.admin_pages): 404, never a 500 or a redirect.
CHECKED_ADMIN_PAGES = {"first": 200, **dict.fromkeys(NO_SUCH_PAGES, 404)}


def admin_page_statuses(client: Any, changelist: str) -> dict[str, int]:
    """The status of a one-page changelist at its first page and at each NO_SUCH_PAGES."""
    pages = {"first": "1", **NO_SUCH_PAGES}
    return {name: client.get(changelist, {"p": p}).status_code for name, p in pages.items()}


def platform_nav_links(page: str) -> list[tuple[str, str, bool]]:
    """(label, href, is current) of each link in an admin page's platform row
    (common/templates/admin/platform_nav.html), in order."""
    from html.parser import HTMLParser

    links: list[tuple[str, str, bool]] = []

    class Nav(HTMLParser):
        depth = 0  # inside <nav id="platform-nav"> when > 0
        link: dict[str, str | None] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "nav" and (self.depth or ("id", "platform-nav") in attrs):
                self.depth += 1
            elif tag == "a" and self.depth:
                self.link = dict(attrs)

        def handle_endtag(self, tag: str) -> None:
            if tag == "nav" and self.depth:
                self.depth -= 1
            elif tag == "a":
                self.link = None

        def handle_data(self, data: str) -> None:
            if self.link is not None and data.strip():
                current = self.link.get("aria-current") == "page"
                links.append((data.strip(), self.link.get("href") or "", current))

    Nav().feed(page)
    return links


# Signed tokens whose claims have types the contract does not allow: every project must
# answer them 401 (problem details), never 500 (common.identity.jwt.check_claim_types).
ODD_CLAIMS: list[dict[str, Any]] = [
    {"exp": "soon"},
    {"exp": 1e12},
    {"exp": 10**12},
    {"user_id": {"id": 1}},
    {"user_id": [1]},
    {"user_id": None},
    {"user_id": 0},  # ids start at 1: no user service issues 0
    {"username": {"name": "alice"}},
    {"is_staff": "yes"},
    {"iat_ms": "now"},
    {"iat": 1e300},
]


def odd_claims_id(claims: dict[str, Any]) -> str:
    return ",".join(f"{name}={value!r}" for name, value in claims.items())


def import_cycles(package: str) -> list[list[str]]:
    """The import cycles among `package`'s modules (every import statement counts, lazy
    ones too): each cycle's modules, sorted; none when every module is above or below
    every other it reaches. Tarjan's strongly connected components over grimp's graph."""
    import grimp  # installed with import-linter

    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, imported = work[-1]
            for other in imported:
                if other not in index:
                    index[other] = low[other] = len(index)
                    stack.append(other)
                    on_stack.add(other)
                    work.append(
                        (other, iter(sorted(graph.find_modules_directly_imported_by(other))))
                    )
                    break
                if other in on_stack:
                    low[module] = min(low[module], index[other])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[module])
                if low[module] == index[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return cycles


class ManualClock:
    """A clock a test moves: `ms()` (ints) and `seconds()`, from a fixed start."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.now_ms = start_ms

    def ms(self) -> int:
        return self.now_ms

    def seconds(self) -> float:
        return self.now_ms / 1000

    def advance(self, ms: int) -> None:
        self.now_ms += ms


class TwinRedis:
    """A private corner of the test run's Redis (a django-redis cache on the same server
    with a key prefix of its own) for a store's Redis implementation to keep its keys in,
    and a clock for the keys' expiry: `advance(ms)` shortens every key's time to live by
    `ms` (PEXPIRE; at zero or below Redis deletes the key), which is what Redis' own
    clock moving on would do. Redis' clock keeps running too, by the test's real time:
    `slack_ms()` bounds how far a time to live may have run down on its own."""

    def __init__(self) -> None:
        import secrets

        from django.conf import settings
        from django_redis.cache import RedisCache

        config = settings.CACHES["default"]
        params = {**config, "KEY_PREFIX": f"twins-{secrets.token_hex(6)}"}
        self.cache = RedisCache(config["LOCATION"], params)
        self.client = self.cache.client.get_client(write=True)
        self.client.ping()  # unreachable: fail here, loudly
        self._started = time.monotonic()

    def keys(self) -> list[bytes]:
        return list(self.client.scan_iter(match=self.cache.make_key("*"), count=1000))

    def advance(self, ms: int) -> None:
        if ms <= 0:
            return
        keys = self.keys()
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(key)
        for key, ttl in zip(keys, pipe.execute(), strict=True):
            if ttl >= 0:  # -1: no expiry; -2: gone meanwhile
                pipe.pexpire(key, ttl - ms)
        pipe.execute()

    def slack_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000) + 2

    def close(self) -> None:
        keys = self.keys()
        if keys:
            self.client.delete(*keys)


def random_ops(
    seed: int,
    steps: int,
    makers: Sequence[tuple[float, Callable[[random.Random], tuple[Any, ...]]]],
) -> list[tuple[Any, ...]]:
    """`steps` operations, each made by one of `makers` picked by weight: the same list
    for the same seed, to drive twins with."""
    rng = random.Random(seed)
    weights = [weight for weight, _ in makers]
    return [rng.choices(makers, weights)[0][1](rng) for _ in range(steps)]


def _all_equal(found: Sequence[Any]) -> bool:
    return all(a == found[0] for a in found)


def run_twins(
    ops: Sequence[tuple[Any, ...]],
    clock: ManualClock,
    redis: TwinRedis | None,
    answers: Callable[[tuple[Any, ...]], Sequence[Any]],
    check: Callable[[Sequence[Any]], bool] = _all_equal,
) -> None:
    """Apply `ops` in order: ("advance", ms) moves the test clock and Redis' by `ms`; any
    other op is given to every twin by `answers`, whose answers must pass `check` (by
    default: all equal)."""
    for step, op in enumerate(ops):
        if op[0] == "advance":
            clock.advance(op[1])
            if redis is not None:
                redis.advance(op[1])
            continue
        found = answers(op)
        assert check(found), f"step {step}: {op}: the twins answered {found}"
