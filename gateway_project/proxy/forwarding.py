"""What the gateway tells a service about the client, and which headers cross it.

Hop-by-hop headers (RFC 9110 §7.6.1) concern one connection and are dropped both ways;
X-Forwarded-* are the gateway's own statements, believed from a client only when the
client is a configured proxy (GATEWAY_TRUSTED_PROXIES).
"""

from __future__ import annotations

import ipaddress
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest

from common.auth import SERVICE_TOKEN_HEADER
from common.context import request_id_var, traceparent_var

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
    }
)
# Date and Server are the gateway's own server's to send; twice would be wrong.
DROPPED_RESPONSE_HEADERS = HOP_BY_HOP | {"content-length", "date", "server"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def trusted_proxies() -> tuple[Network, ...]:
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False)
        for entry in settings.GATEWAY["TRUSTED_PROXIES"]
        if entry.strip()
    )


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "GATEWAY":
        trusted_proxies.cache_clear()


setting_changed.connect(_reset)


def is_trusted_proxy(address: str) -> bool:
    networks = trusted_proxies()
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip_for(request: HttpRequest) -> str:
    """The client's address: the peer, or what trusted proxies say the client was.

    X-Forwarded-For is read from the right: the last address no trusted proxy owns is
    the client, so a client cannot choose its own rate-limit bucket by sending one.
    """
    cached = getattr(request, "_gateway_client_ip", None)
    if cached is not None:
        return cached
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    client = peer
    if is_trusted_proxy(peer):
        chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for address in reversed([part for part in chain if part]):
            client = address
            if not is_trusted_proxy(address):
                break
    request._gateway_client_ip = client
    return client


def connection_tokens(value: str) -> set[str]:
    """Header names a Connection header lists: hop-by-hop for this message too."""
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def upstream_request_headers(request: HttpRequest) -> dict[str, str]:
    """The client's headers minus hop-by-hop and internal ones, plus X-Forwarded-*."""
    meta = request.META
    dropped = HOP_BY_HOP | REPLACED_REQUEST_HEADERS
    if "HTTP_CONNECTION" in meta:
        dropped = dropped | connection_tokens(meta["HTTP_CONNECTION"])
    headers = {
        name: value for name, value in request.headers.items() if name.lower() not in dropped
    }
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


def response_header_items(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An upstream answer's headers (name, value pairs) that cross back to the client."""
    dropped = DROPPED_RESPONSE_HEADERS
    for name, value in headers:
        if name.lower() == "connection":
            dropped = dropped | connection_tokens(value)
    return [(name, value) for name, value in headers if name.lower() not in dropped]
