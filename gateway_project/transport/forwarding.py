"""What the gateway tells a service about the client, and which headers cross it.

Hop-by-hop headers (RFC 9110 §7.6.1) concern one connection and are dropped both ways;
X-Forwarded-* are the gateway's own statements, believed from a client only when the
client is a configured proxy (GATEWAY_TRUSTED_PROXIES).
"""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common.identity.auth import CONSUMER_HEADERS, SERVICE_TOKEN_HEADER
from common.limits.client_address import address_in, forwarded_client, trusted_networks
from common.observability.context import request_id_var, traceparent_var
from gateway_project.conf import gateway_settings
from gateway_project.transport.client import Answer

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Request headers the gateway replaces with its own or never lets through.
REPLACED_REQUEST_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "expect",  # the gateway has read the whole body already
        SERVICE_TOKEN_HEADER.lower(),
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "forwarded",
        "x-real-ip",
        "x-request-id",
        "traceparent",
        "x-api-key",  # a consumer's key is the gateway's to check, never a service's
        *(name.lower() for name in CONSUMER_HEADERS),
    }
)
# Date and Server are the gateway's own server's to send; twice would be wrong.
DROPPED_RESPONSE_HEADERS = HOP_BY_HOP | {"content-length", "date", "server"}


def is_trusted_proxy(address: str) -> bool:
    return address_in(address, trusted_networks(gateway_settings.TRUSTED_PROXIES))


def client_ip_for(request: HttpRequest) -> str:
    """The client's address: the peer, or what trusted proxies say the client was.

    X-Forwarded-For is read from the right: the last address no trusted proxy owns is
    the client, so a client cannot choose its own rate-limit bucket by sending one.
    """
    cached: str | None = getattr(request, "_gateway_client_ip", None)
    if cached is not None:
        return cached
    client = unmapped(forwarded_client(request.META, is_trusted_proxy))
    request._gateway_client_ip = client  # type: ignore[attr-defined]  # once per request
    return client


def unmapped(address: str) -> str:
    """`::ffff:a.b.c.d` (an IPv4 client on a dual-stack socket) as the IPv4 address it is."""
    if address.startswith("::ffff:") or address.startswith("::FFFF:"):
        try:
            mapped = ipaddress.IPv6Address(address).ipv4_mapped
        except ValueError:
            return address
        if mapped is not None:
            return str(mapped)
    return address


def rate_limit_bucket(address: str) -> str:
    """Whose limit a client address counts against: an IPv4 address, or its IPv6 network.

    One IPv6 subscriber is usually given a whole /64 (RFC 6177) and picks addresses in it
    at will, so counting per /128 would give it 2**64 buckets. GATEWAY_IPV6_PREFIX sets
    the prefix length (64; 128 counts each address)."""
    address = unmapped(address)
    if ":" not in address:
        return address
    prefix = gateway_settings.IPV6_PREFIX
    try:
        network = ipaddress.IPv6Network(f"{address}/{prefix}", strict=False)
    except ValueError:
        return address
    return str(network.network_address) if prefix == 128 else str(network)


# What libcurl refuses in a URL's query (then a 502): a raw space, controls, DEL.
_UNSENDABLE_QUERY = re.compile(r"[\x00-\x20\x7f]")


def upstream_query(query: str) -> str | None:
    """The query as it goes upstream: raw non-ASCII bytes percent-encoded (the same bytes to
    a server that decodes it), or None when it holds a byte no request target may carry.

    WSGI hands the raw bytes over decoded as latin-1, so each character is one byte.
    """
    if not query.isascii():
        query = "".join(c if c < "\x80" else f"%{ord(c):02X}" for c in query)
    return None if _UNSENDABLE_QUERY.search(query) else query


def unsendable_header(request: HttpRequest) -> str | None:
    """The name of a header whose value has non-ASCII bytes: such a value has no one
    meaning (RFC 9110 §5.5 obs-text) and the upstream client sends ASCII only."""
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and not value.isascii():
            return key[5:].replace("_", "-").title()
    return None


def connection_tokens(value: str) -> set[str]:
    """Header names a Connection header lists: hop-by-hop for this message too."""
    return {token.strip().lower() for token in value.split(",") if token.strip()}


# The headers the gateway decides who the caller is by (edge authentication reads the
# bearer token; the admins' sessions and sign-on ride in cookies).
AUTHENTICATING_HEADERS = frozenset({"authorization", "cookie"})


def hop_by_hop_credential(request: HttpRequest) -> str | None:
    """A credential header the client's Connection header names, or None.

    Named there it is hop-by-hop and would be dropped going upstream after the gateway
    checked it: a staff caller answered as anonymous, and that answer cached under the
    staff key. Such a request is refused (400), never forwarded without what it was
    authenticated by."""
    named = connection_tokens(request.META.get("HTTP_CONNECTION", "")) & AUTHENTICATING_HEADERS
    return min(named).title() if named else None


def end_to_end_headers(request: HttpRequest) -> dict[str, str]:
    """The client's headers (lower-case names) without those its Connection header lists:
    what the service is sent, so what a cached variant may be keyed on."""
    named = connection_tokens(request.META.get("HTTP_CONNECTION", ""))
    return {
        name.lower(): value for name, value in request.headers.items() if name.lower() not in named
    }


def services_cookies(header: str) -> str:
    """A Cookie header without the gateway's own session and CSRF cookies.

    They are the gateway's (its admin); a service has no use for them, and passing them
    on would hand a gateway session to every service and whoever logs its headers.
    """
    own = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
    if not any(name in header for name in own):
        return header
    kept = [part.strip() for part in header.split(";")]
    return "; ".join(part for part in kept if part and part.partition("=")[0].strip() not in own)


def upstream_request_headers(request: HttpRequest) -> dict[str, str]:
    """The client's headers minus hop-by-hop and internal ones, plus X-Forwarded-*."""
    meta = request.META
    dropped = HOP_BY_HOP | REPLACED_REQUEST_HEADERS
    if "HTTP_CONNECTION" in meta:
        dropped = dropped | connection_tokens(meta["HTTP_CONNECTION"])
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in dropped
    }
    if headers.get("Authorization", "").lower().startswith("apikey "):
        del headers["Authorization"]
    if "Cookie" in headers:
        headers["Cookie"] = services_cookies(headers["Cookie"])
        if not headers["Cookie"]:
            del headers["Cookie"]
    peer = meta.get("REMOTE_ADDR", "")
    trusted = is_trusted_proxy(peer)
    forwarded_for = meta.get("HTTP_X_FORWARDED_FOR", "") if trusted else ""
    headers["X-Forwarded-For"] = f"{forwarded_for}, {peer}" if forwarded_for else peer
    headers["X-Forwarded-Proto"] = (trusted and meta.get("HTTP_X_FORWARDED_PROTO")) or meta.get(
        "wsgi.url_scheme", "http"
    )
    host = (trusted and meta.get("HTTP_X_FORWARDED_HOST")) or meta.get("HTTP_HOST")
    if host:
        headers["X-Forwarded-Host"] = host
    headers["X-Request-ID"] = request_id_var.get()
    if traceparent := traceparent_var.get():
        headers["traceparent"] = traceparent
    return headers


class PassedCookie:
    """A service's Set-Cookie line, sent back as it came.

    Django's cookie jar would re-parse it and write it anew: attributes it does not know
    (Priority, Partitioned) are lost or broken, quoting and dates rewritten. Django's WSGI
    handler writes a cookie as `cookie.output(header="")`; this gives the line itself.
    `key` and `value` serve whoever reads response.cookies (the test client's jar).
    """

    def __init__(self, line: str) -> None:
        self.line = line
        name, _, rest = line.partition("=")
        self.key = name.strip()
        self.value = self.coded_value = rest.split(";", 1)[0].strip()

    def output(self, attrs: object = None, header: str = "Set-Cookie:") -> str:
        return f"{header} {self.line}" if header else self.line

    def OutputString(self, attrs: object = None) -> str:  # Morsel's name, for SimpleCookie
        return self.line


def add_passed_cookie(response: HttpResponse, line: str) -> None:
    """Keep `line` for the answer, under a key no other Set-Cookie of it uses."""
    cookie = PassedCookie(line)
    key, n = cookie.key, 1
    while key in response.cookies:
        n += 1
        key = f"{cookie.key}#{n}"
    dict.__setitem__(response.cookies, key, cookie)  # type: ignore[misc]  # past SimpleCookie's


def upstream_content_length(headers: list[tuple[str, str]]) -> str | None:
    """The service's Content-Length: what a HEAD answer must repeat (RFC 9110 §9.3.2)."""
    for name, value in headers:
        if name.lower() == "content-length":
            return value
    return None


def response_header_items(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An upstream answer's headers (name, value pairs) that cross back to the client."""
    dropped = DROPPED_RESPONSE_HEADERS
    for name, value in headers:
        if name.lower() == "connection":
            dropped = dropped | connection_tokens(value)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def response_from(answer: Answer) -> HttpResponse:
    """A Django response carrying the service's status, headers and body bytes."""
    response = HttpResponse(answer.body, status=answer.status, reason=answer.reason or None)
    del response["Content-Type"]
    for name, value in response_header_items(answer.headers):
        if name.lower() == "set-cookie":
            add_passed_cookie(response, value)
        elif name in response:
            response[name] = f"{response[name]}, {value}"
        else:
            response[name] = value
    # Upstream answers, errors included, go back as they are; a HEAD answer's length too.
    response.problem_passthrough = True  # type: ignore[attr-defined]
    response.upstream_content_length = upstream_content_length(answer.headers)  # type: ignore[attr-defined]
    return response
