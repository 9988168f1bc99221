"""Who the client is behind trusted proxies: the one reading of X-Forwarded-For that the
gateway's rate limits and every project's login limits share."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from functools import cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks_parse(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses and CIDR networks ("10.0.0.0/8", "::1"); blank entries are skipped."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


@cache
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks a settings namespace's TRUSTED_PROXIES names, parsed once per value
    (`common_settings.TRUSTED_PROXIES` for login limits, `gateway_settings`' for the
    gateway's rate limits and forwarding): a changed setting is a new key, so no reset hook."""
    return networks_parse(entries)


def address_in(address: str, networks: tuple[Network, ...]) -> bool:
    """Whether `address` is in one of `networks` (never, for what is not an address)."""
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(meta: Mapping[str, str], is_trusted: Callable[[str], bool]) -> str:
    """The peer, or what trusted proxies say the client was.

    X-Forwarded-For is read from the right: the last address no trusted proxy owns is the
    client, so a client cannot choose its own rate-limit bucket by sending one.
    """
    client = meta.get("REMOTE_ADDR", "") or "unknown"
    if is_trusted(client):
        chain = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        for address in reversed([part for part in chain if part]):
            client = address
            if not is_trusted(address):
                break
    return client
