"""The two calls the proxy makes: `lookup` before the upstream call, `after_upstream` after.

`lookup` answers a HIT from the cache; otherwise it leaves a `_State` on the request
saying what `after_upstream` may do with the service's answer: store it (a cacheable
200), invalidate (a successful unsafe method, RFC 9111 §4.4), and always label it with
`X-Cache`. The service's `Surrogate-Key` and `Surrogate-Control` headers are the
gateway's and never reach the client.

A read whose `If-None-Match` names the ETag of the answer it would get (from the cache or
from the service) is answered `304 Not Modified` (RFC 9110 §13.1.2, §15.4.5): the client
revalidates its copy (the product service tells clients `no-cache`, since no purge
reaches them) and is sent no body when it is still current.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import urljoin, urlsplit

from django.http import HttpRequest, HttpResponse

from gateway_project.response_cache import metrics, policy
from gateway_project.response_cache.config import knob
from gateway_project.response_cache.entry import Entry
from gateway_project.response_cache.store import Offer, StoreUnavailable, response_store

if TYPE_CHECKING:
    from gateway_project.routing.table import Route
    from gateway_project.transport.client import Answer

logger = logging.getLogger(__name__)

HIT, MISS, BYPASS = "HIT", "MISS", "BYPASS"
STATE_ATTRIBUTE = "_response_cache"


@dataclass(slots=True)
class _State:
    route: str
    seconds: int
    result: str = MISS
    may_store: bool = True
    base: str = ""
    headers: dict[str, str] | None = None
    seen: int = 0


def lookup(request: HttpRequest, route: Route) -> HttpResponse | None:
    """The cached answer for this request (a HIT), or None to ask the service."""
    seconds = route.cache
    if not seconds:
        return None
    state = _State(route=route.name, seconds=seconds)
    setattr(request, STATE_ATTRIBUTE, state)
    reason = policy.request_bypass_reason(cast(str, request.method), request.headers)
    if reason in ("method", "no-store"):
        state.result, state.may_store = BYPASS, False
        return None
    role = policy.caller_role(getattr(request, "user", None))
    state.base = policy.base_key(role, request.path, request.META.get("QUERY_STRING", ""))
    # As the service is sent them: a header the client named in Connection (RFC 9110
    # §7.6.1) never reaches it, so no variant is keyed on it. (Imported here: forwarding
    # needs the app registry, and this package is imported before it is ready.)
    from gateway_project.transport.forwarding import end_to_end_headers

    state.headers = end_to_end_headers(request)
    try:
        found = response_store().lookup(state.base, state.headers)
    except StoreUnavailable:
        state.result, state.may_store = BYPASS, False
        return None
    state.seen = found.seq
    if reason == "no-cache":  # a fresh answer was asked for; it may refresh the entry
        state.result = BYPASS
        return None
    if found.raw is None:
        return None
    try:
        entry = Entry.loads(found.raw)
    except (ValueError, KeyError, TypeError):
        logger.warning("unreadable response cache entry for %s", request.path)
        return None
    response = _response_for(entry, cast(str, request.method))
    _answer_conditional(request, response)
    _finish(request, state, HIT, response)
    return response


def after_upstream(
    request: HttpRequest, route: Route, answer: Answer, response: HttpResponse
) -> None:
    """Store, invalidate and label the service's answer (`response`, built from `answer`);
    a read the client already holds becomes a 304."""
    keys = []
    if (named := response.headers.get(policy.SURROGATE_KEY_HEADER)) is not None:
        keys = policy.surrogate_keys(named)
        del response[policy.SURROGATE_KEY_HEADER]
    try:
        _after_upstream(request, response, keys)
    finally:  # read by _store; the gateway's own, like Surrogate-Key
        if policy.SURROGATE_CONTROL_HEADER in response:
            del response[policy.SURROGATE_CONTROL_HEADER]


def _after_upstream(request: HttpRequest, response: HttpResponse, keys: list[str]) -> None:
    state = getattr(request, STATE_ATTRIBUTE, None)
    if state is None:
        return
    if request.method not in policy.SAFE_METHODS:
        if 200 <= response.status_code < 300:
            _invalidate_after_write(request, response)
        _finish(request, state, BYPASS, response)
        return
    if state.may_store and request.method == "GET":
        state.result = _store(request, state, response, keys)
    _answer_conditional(request, response)
    _finish(request, state, state.result, response)


def _answer_conditional(request: HttpRequest, response: HttpResponse) -> None:
    """Make a 200 to a GET or HEAD whose If-None-Match matches it a 304, in place: no body
    and no representation metadata, but its ETag, Cache-Control, Vary (and Expires,
    Content-Location, Last-Modified, cookies) as the 200 had them (RFC 9110 §15.4.5)."""
    if request.method not in policy.READ_METHODS or response.status_code != 200:
        return
    if not policy.none_match(request.headers.get("If-None-Match"), response.get("ETag")):
        return
    response.status_code = 304
    response.reason_phrase = "Not Modified"
    response.content = b""
    for name in [name for name in response.headers if name.lower() in policy.NOT_MODIFIED_DROPS]:
        del response[name]
    # No Content-Length either (proxy.middleware.set_content_length sets none on a 304).
    response.upstream_content_length = None  # type: ignore[attr-defined]  # the middleware's


def _store(request: HttpRequest, state: _State, response: HttpResponse, keys: list[str]) -> str:
    """MISS when stored (or refused by the race guard), BYPASS when not cacheable."""
    ttl = policy.response_ttl(
        response.status_code,
        response.headers,
        route_seconds=state.seconds,
        authorized="Authorization" in request.headers,
    )
    if not ttl or response.cookies or len(response.content) > knob("MAX_BODY_BYTES"):
        return BYPASS
    names = policy.vary_names(response.headers.get("Vary"))
    entry = Entry(
        status=response.status_code,
        reason=response.reason_phrase,
        headers=[
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in policy.UNSTORED_HEADERS
        ],
        body=response.content,
        stored_at=time.time(),
        age=_seconds(response.headers.get("Age")),
    )
    tags = [policy.path_tag(request.path), *keys]
    try:
        response_store().put(
            Offer(
                state.base,
                names,
                cast(dict[str, str], state.headers),  # lookup() set them
                entry.dumps(),
                ttl,
                tags,
                state.seen,
            )
        )
    except StoreUnavailable:
        return BYPASS
    return state.result


def _seconds(value: str | None) -> int:
    return int(value) if value and value.strip().isdigit() else 0


def _response_for(entry: Entry, method: str) -> HttpResponse:
    response = HttpResponse(
        b"" if method == "HEAD" else entry.body, status=entry.status, reason=entry.reason or None
    )
    del response["Content-Type"]
    for name, value in entry.headers:
        response[name] = value
    response["Age"] = str(entry.age_now())
    response.problem_passthrough = True  # type: ignore[attr-defined]  # the gateway's own
    # A HEAD answer says the length a GET's would have (RFC 9110 §9.3.2), as the
    # service's own HEAD answer does (proxy.middleware.set_content_length).
    response.upstream_content_length = str(len(entry.body))  # type: ignore[attr-defined]
    return response


def _finish(
    request: HttpRequest, state: _State, result: str, response: HttpResponse | None = None
) -> None:
    state.result = result
    if response is not None:
        response["X-Cache"] = result
    metrics.CACHE_REQUESTS.labels(state.route, result).inc()
    log = getattr(request, "access_log", None)
    if log is not None:
        log["cache"] = result


def _invalidate_after_write(request: HttpRequest, response: HttpResponse) -> None:
    """RFC 9111 §4.4: the target URI, and Location / Content-Location on this origin."""
    paths = {request.path}
    for header in ("Location", "Content-Location"):
        if value := response.headers.get(header):
            target = urlsplit(urljoin(request.path, value))
            if not target.netloc or target.netloc == request.get_host():
                paths.add(target.path.rstrip("/") or "/")
    invalidate([policy.path_tag(path) for path in sorted(paths)], source="write")


def invalidate(tags: list[str], *, source: str) -> int:
    """Drop every entry carrying one of `tags`; StoreUnavailable when the store is down
    for a purge (the caller must know), logged and swallowed for a write."""
    try:
        removed = response_store().purge(tags)
    except StoreUnavailable:
        if source == "purge":
            raise
        logger.warning("response cache: could not invalidate %s after a write", tags)
        return 0
    metrics.CACHE_INVALIDATIONS.labels(source).inc()
    return removed
