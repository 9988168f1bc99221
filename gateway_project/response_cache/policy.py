"""What may be cached and under which key (RFC 9111), and whether a client's copy is still
current (RFC 9110 §13.1.2), decided from headers alone.

Pure functions: no store, no Django settings, so every rule is tested on its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

READ_METHODS = frozenset({"GET", "HEAD"})
# RFC 9110 §9.2.1: everything else may change the resource (RFC 9111 §4.4 invalidates).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SURROGATE_KEY_HEADER = "Surrogate-Key"
# The service's word to the gateway alone (W3C Edge Architecture 1.0): how long the
# gateway may keep the answer, which its purges reach. Cache-Control then speaks to every
# cache past the gateway (browsers, a CDN), which no purge reaches.
SURROGATE_CONTROL_HEADER = "Surrogate-Control"
# A surrogate key names data (`product-7`, `products`): short, no spaces or separators.
SURROGATE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Headers a stored answer never keeps: they belong to one exchange, or are the cache's.
UNSTORED_HEADERS = frozenset(
    {
        "age",
        "x-cache",
        "x-request-id",
        "set-cookie",
        SURROGATE_KEY_HEADER.lower(),
        SURROGATE_CONTROL_HEADER.lower(),
    }
)
# Representation metadata a 304 leaves out (RFC 9110 §15.4.5): the client keeps its own.
# Cache-Control, Content-Location, Date, ETag, Expires, Last-Modified and Vary stay.
NOT_MODIFIED_DROPS = frozenset(
    {
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-range",
        "content-disposition",
        "content-md5",
    }
)
_DIRECTIVE = re.compile(r'\s*([A-Za-z0-9!#$%&\'*+.^_`|~-]+)\s*(?:=\s*("[^"]*"|[^,]*))?\s*(?:,|$)')


def cache_control(value: str | None) -> dict[str, str | None]:
    """Cache-Control directives (lower-case names; quoted values unquoted)."""
    directives: dict[str, str | None] = {}
    for name, raw in _DIRECTIVE.findall(value or ""):
        argument = raw.strip().strip('"') if raw else None
        directives.setdefault(name.lower(), argument)
    return directives


def _seconds(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def request_bypass_reason(method: str, headers: Mapping[str, str]) -> str | None:
    """Why this request must not be answered from the cache, or None.

    `no-cache` (and HTTP/1.0's `Pragma: no-cache`) asks for a fresh answer, which may
    then be stored; `no-store` forbids storing it too (see `request_forbids_store`).
    """
    if method not in READ_METHODS:
        return "method"
    directives = cache_control(headers.get("Cache-Control"))
    if "no-store" in directives:
        return "no-store"
    if "no-cache" in directives or "no-cache" in headers.get("Pragma", "").lower():
        return "no-cache"
    return None


def response_ttl(
    status: int,
    headers: Mapping[str, str],
    *,
    route_seconds: int,
    authorized: bool,
) -> int:
    """Seconds the gateway may keep this answer (0: never store it).

    Only a 200, never one whose Cache-Control says `private` or `no-store` (an answer for
    one caller), nor `Vary: *` or `Set-Cookie`. The service's `Surrogate-Control`
    `max-age` is the gateway's own lifetime, whatever Cache-Control tells the caches past
    it (`no-cache` there: browsers and CDNs revalidate, since no purge reaches them);
    its `no-store` forbids storing. Without it, Cache-Control decides as for any shared
    cache: `public`, `s-maxage` or `max-age`, and no `no-cache`; `s-maxage` wins over
    `max-age`. Never longer than the route allows, minus the `Age` the answer already
    has. An answer to a request with credentials needs `public` or `s-maxage` (RFC 9111
    §3.5).
    """
    if status != 200 or route_seconds <= 0:
        return 0
    directives = cache_control(headers.get("Cache-Control"))
    if {"private", "no-store"} & directives.keys():
        return 0
    if "*" in vary_names(headers.get("Vary")) or "Set-Cookie" in headers:
        return 0
    shared = _seconds(directives.get("s-maxage"))
    surrogate = cache_control(headers.get(SURROGATE_CONTROL_HEADER))
    if "no-store" in surrogate:
        return 0
    if (lifetime := _seconds(surrogate.get("max-age"))) is None:
        if "no-cache" in directives:
            return 0
        lifetime = shared if shared is not None else _seconds(directives.get("max-age"))
    if lifetime is None and "public" not in directives:
        return 0
    if authorized and shared is None and "public" not in directives:
        return 0
    ttl = route_seconds if lifetime is None else min(lifetime, route_seconds)
    return max(0, ttl - (_seconds(headers.get("Age")) or 0))


def vary_names(value: str | None) -> tuple[str, ...]:
    """The request headers a Vary header names: lower case, sorted, once each."""
    return tuple(
        sorted({part.strip().lower() for part in (value or "").split(",") if part.strip()})
    )


def surrogate_keys(value: str | None) -> list[str]:
    """The keys a service names in Surrogate-Key (space separated); malformed ones dropped."""
    return [key for key in (value or "").split() if SURROGATE_KEY.match(key)]


def caller_role(user: object) -> str:
    """anon, user or staff: entries are never shared across roles (staff see more)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "anon"
    return "staff" if getattr(user, "is_staff", False) else "user"


def base_key(role: str, path: str, query: str) -> str:
    """One resource as one caller role asks for it (GET and HEAD share it)."""
    return hashlib.sha1(f"{role}\n{path}\n{query}".encode(), usedforsecurity=False).hexdigest()


def variant_key(names: Iterable[str], headers: Mapping[str, str]) -> str:
    """The Vary-named request header values, hashed: the same text the Redis lookup
    script hashes with redis.sha1hex, so both sides find one entry."""
    names = list(names)
    parts = [",".join(names), *(headers.get(name, "") for name in names)]
    return hashlib.sha1("\n".join(parts).encode(), usedforsecurity=False).hexdigest()


def path_tag(path: str) -> str:
    """The tag every entry of one path carries: what a write to that path invalidates."""
    return f"path:{path}"


# An entity-tag (RFC 9110 §8.8.3): an optional weakness mark, then a quoted opaque tag.
_ENTITY_TAG = re.compile(r'(?:\s*,)*\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def none_match(if_none_match: str | None, etag: str | None) -> bool:
    """True when If-None-Match's condition is false for a current representation with
    this ETag (RFC 9110 §13.1.2): the request gets a 304 instead of it.

    `*` matches any current representation; a list matches when one of its tags equals
    the ETag by the weak comparison (the opaque tags alike, `W/` or not). A header that
    is not a list of entity-tags matches nothing, so the full answer goes out.
    """
    if if_none_match is None:
        return False
    value = if_none_match.strip()
    if value == "*":
        return True
    if not etag:
        return False
    tags, position = [], 0
    while position < len(value):
        found = _ENTITY_TAG.match(value, position)
        if found is None or found.end() == position:
            return False
        tags.append(found.group(1))
        position = found.end()
    own = etag.strip().removeprefix("W/")
    return own in tags
