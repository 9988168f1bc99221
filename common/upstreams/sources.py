"""Where a service's instances come from: static URLs and DNS names (the registry is its own
module). `USERS_SERVICE_URL=http://10.0.0.5:8001,http://10.0.0.6:8001` gives two static
instances; `dns+http://products:8000` gives one instance per A/AAAA address of `products`,
re-resolved on the answer's TTL (clamped), which is how Compose `--scale` and Kubernetes
headless Services publish replicas."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DNS_PREFIX = "dns+"


@dataclass(frozen=True)
class Target:
    """One comma-separated entry of a service URL variable."""

    kind: str  # "static" or "dns"
    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return base_url(self.scheme, self.host, self.port)


DEFAULT_PORTS = {"http": 80, "https": 443}


def base_url(scheme: str, host: str, port: int) -> str:
    """One spelling per instance: an IPv6 address in brackets, the scheme's own port
    left out (as URLs are written: `http://products`, `http://10.0.0.5:8002`)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    if DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_targets(value: str) -> list[Target]:
    """The entries of a service URL variable; ValueError names a malformed one."""
    targets = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        kind = "static"
        if entry.startswith(DNS_PREFIX):
            kind, entry = "dns", entry[len(DNS_PREFIX) :]
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {entry!r}")
        if parts.path.strip("/") or parts.query or parts.username:
            raise ValueError(f"a base URL has no path, query or credentials: {entry!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        targets.append(Target(kind, parts.scheme, parts.hostname, port))
    return targets


@dataclass
class Resolution:
    addresses: list[str]
    expires: float  # time.monotonic() when to resolve again


class DnsResolver:
    """A and AAAA answers with their TTL (dnspython), clamped to [min_ttl, max_ttl].

    `nameservers` ("127.0.0.1:5353", ...) overrides the system's resolv.conf. A name the
    DNS does not know (e.g. from /etc/hosts) is looked up with getaddrinfo instead; a
    failed lookup keeps the last good answer and tries again after min_ttl.
    """

    def __init__(self, *, min_ttl: float, max_ttl: float, nameservers: Sequence[str]) -> None:
        import dns.resolver

        self.min_ttl, self.max_ttl = min_ttl, max_ttl
        self.resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            servers = [_split_server(entry) for entry in nameservers]
            self.resolver.nameservers = [host for host, _ in servers]
            self.resolver.port = servers[0][1]
        self.resolver.lifetime = 2.0
        self._last: dict[str, Resolution] = {}

    def resolve(self, host: str) -> Resolution:
        import dns.exception
        import dns.resolver

        try:
            ipaddress.ip_address(host)
            return Resolution([host], float("inf"))
        except ValueError:
            pass
        addresses: list[str] = []
        ttls: list[float] = []
        failed = False
        for rdtype in ("A", "AAAA"):
            try:
                answer = self.resolver.resolve(host, rdtype, search=True)
            except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
                continue
            except dns.exception.DNSException as error:
                logger.warning("DNS lookup of %s (%s) failed: %s", host, rdtype, error)
                failed = True
                continue
            addresses += [record.to_text() for record in answer]
            if answer.rrset is not None:  # an answer (NoAnswer was raised otherwise)
                ttls.append(answer.rrset.ttl)
        if not addresses and not failed:
            addresses = _getaddrinfo(host)
        now = time.monotonic()
        if not addresses:
            previous = self._last.get(host)
            kept = previous.addresses if previous else []
            return Resolution(kept, now + self.min_ttl)
        ttl = min(max(min(ttls) if ttls else self.min_ttl, self.min_ttl), self.max_ttl)
        resolution = self._last[host] = Resolution(sorted(set(addresses)), now + ttl)
        return resolution


def _split_server(entry: str) -> tuple[str, int]:
    """'127.0.0.1:5353', '[::1]:5353' or a bare address (port 53)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest.lstrip(":") or 53)
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port)
    return entry, 53


def _getaddrinfo(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


def addresses_of(
    targets: list[Target], known: dict[str, Resolution], resolver: Callable[[], DnsResolver]
) -> dict[str, list[str]]:
    """Every DNS target's addresses (host -> addresses), resolving again those whose TTL
    ran out; `known` keeps the answers between calls. `resolver` makes the resolver only
    when one is needed (static lists need none)."""
    now = time.monotonic()
    resolved = {}
    for target in targets:
        if target.kind != "dns":
            continue
        found = known.get(target.host)
        if found is None or found.expires <= now:
            found = known[target.host] = resolver().resolve(target.host)
        resolved[target.host] = found.addresses
    return resolved
