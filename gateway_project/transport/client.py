"""The HTTP client to the services: one exchange over kept-alive connections.

The bottom of the gateway: it knows no route, no instance and no Django request.

libcurl (pycurl), one handle per worker thread, whose connection cache keeps a
connection to each service open between requests. Neither requests nor urllib3: the
proxy needs none of their conveniences (cookies, redirects, proxies from the
environment, body encoding), and their request preparation and http.client's header
parsing were the largest cost left on the hot path; libcurl does the same exchange in C
for a fraction of the CPU (docs/performance.md, "What each change bought").

What libcurl would add on its own is switched off: proxies from the environment,
`Expect: 100-continue`, a default `Accept`, `User-Agent` or form `Content-Type`, content decoding
and redirects. It resends a request once, on a fresh connection, when a reused
kept-alive connection gave back nothing at all (the service had closed it as it was
reused). That is safe for idempotent methods only, so POST and PATCH always go on a new
connection, where libcurl never resends; and connections idle longer than
MAX_IDLE_SECONDS are not reused, which keeps the resending rare.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import cast

import pycurl

from common.upstreams.retry import IDEMPOTENT_METHODS

# Below the services' own keep-alive (gunicorn's 5 s): a connection idle this long is
# closed rather than reused, so the service never closes one under a request.
MAX_IDLE_SECONDS = 4
# RFC 9110 §9.2.2. Any other method goes on a new connection: libcurl resends a request
# once when a reused connection gives back nothing, and a service may have acted on it.
# Methods whose request carries a body even when the client sent none (Content-Length: 0).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_UNREACHABLE = frozenset({pycurl.E_COULDNT_CONNECT, pycurl.E_COULDNT_RESOLVE_HOST})

_local = threading.local()


class UpstreamError(Exception):
    """The exchange with a service failed; libcurl's message says how."""

    kind = "failed"


class UpstreamUnreachable(UpstreamError):
    """No connection could be made (refused, unresolvable, connect timeout)."""

    kind = "no connection"


class UpstreamTimeout(UpstreamError):
    """Connected, but the answer did not come in time."""

    kind = "timed out"


class UpstreamBroken(UpstreamError):
    """Connected, but what came back was not a complete HTTP answer; `what` says how, as
    the end of a sentence about the service ("reset the connection")."""

    kind = "not an HTTP answer"

    def __init__(self, message: str, what: str = "answered with something that is not HTTP"):
        super().__init__(message)
        self.what = what


# How a connection that carried no complete answer ended, by libcurl's error code.
_BROKEN = {
    pycurl.E_GOT_NOTHING: "closed the connection without answering",
    pycurl.E_PARTIAL_FILE: "closed the connection before its answer was complete",
    pycurl.E_FTP_WEIRD_SERVER_REPLY: "answered with something that is not HTTP",  # code 8
    pycurl.E_UNSUPPORTED_PROTOCOL: "answered with something that is not HTTP",
}


def broken(code: int, message: str) -> UpstreamBroken:
    """The UpstreamBroken for libcurl's `code` and `message`: a reset is named a reset."""
    if code in (pycurl.E_RECV_ERROR, pycurl.E_SEND_ERROR):
        what = "reset the connection" if "reset" in message.lower() else "broke the connection"
        if code == pycurl.E_SEND_ERROR:
            what += " while the request was being sent"
        return UpstreamBroken(message, what)
    return UpstreamBroken(message, _BROKEN.get(code, f"gave no usable answer ({message})"))


@dataclass(slots=True)
class Answer:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class _Exchange:
    """Collects one answer's status line, headers and body from libcurl's callbacks."""

    __slots__ = ("chunks", "headers", "status_line")

    def __init__(self) -> None:
        self.status_line = ""
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []

    def header(self, raw: bytes) -> None:
        line = raw.decode("iso-8859-1").rstrip("\r\n")
        if line.startswith("HTTP/"):
            # A new answer (after an interim 1xx): only the final one counts.
            self.status_line = line
            self.headers = []
        elif ":" in line:
            name, _, value = line.partition(":")
            self.headers.append((name.strip(), value.strip()))


def _handle() -> pycurl.Curl:
    """This thread's libcurl handle; its connection cache is the thread's pool."""
    curl = getattr(_local, "curl", None)
    if curl is None:
        curl = _local.curl = pycurl.Curl()
    return curl


def _configure(curl: pycurl.Curl, connect: float, read: float) -> None:
    curl.reset()  # options only: kept-alive connections survive a reset
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.PROXY, "")  # never a proxy from the environment
    curl.setopt(pycurl.TCP_NODELAY, 1)
    curl.setopt(pycurl.FOLLOWLOCATION, 0)
    curl.setopt(pycurl.PATH_AS_IS, 1)  # the path goes as the client sent it: no /../ squashing
    curl.setopt(pycurl.HTTP_CONTENT_DECODING, 0)
    curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    curl.setopt(pycurl.MAXAGE_CONN, MAX_IDLE_SECONDS)
    # Connecting is bounded by the connect timeout, the whole exchange (connecting
    # included) by the read timeout: a service that trickles its answer is cut off too.
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, max(1, int(min(connect, read) * 1000)))
    curl.setopt(pycurl.TIMEOUT_MS, max(1, int(read * 1000)))


def _header_lines(headers: dict[str, str], *, has_body: bool) -> list[str]:
    lines = []
    present = set()
    for name, value in headers.items():
        present.add(name.lower())
        # "Name:" would tell libcurl to drop a header; "Name;" sends it empty.
        lines.append(f"{name}: {value}" if value else f"{name};")
    lines.append("Expect:")  # no 100-continue round trip: the body is all here
    if "accept" not in present:
        lines.append("Accept:")
    if "user-agent" not in present:
        lines.append("User-Agent:")  # pycurl would name itself
    if has_body and "content-type" not in present:
        lines.append("Content-Type:")
    return lines


def exchange(
    base_url: str,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    connect_timeout: float,
    read_timeout: float,
) -> Answer:
    """One request to `base_url` + `target` (path and query, already escaped)."""
    curl = _handle()
    _configure(curl, connect_timeout, read_timeout)
    curl.setopt(pycurl.URL, base_url + target)
    if method not in IDEMPOTENT_METHODS:
        curl.setopt(pycurl.FRESH_CONNECT, 1)
    if body is None and method in _BODY_METHODS:
        body = b""
    if method == "HEAD":
        curl.setopt(pycurl.NOBODY, 1)
    elif method != "GET" or body is not None:
        curl.setopt(pycurl.CUSTOMREQUEST, method)
    if body is not None:
        curl.setopt(pycurl.POSTFIELDSIZE, len(body))
        curl.setopt(pycurl.POSTFIELDS, body)
    curl.setopt(pycurl.HTTPHEADER, _header_lines(headers, has_body=body is not None))
    answer = _Exchange()
    curl.setopt(pycurl.HEADERFUNCTION, answer.header)
    curl.setopt(pycurl.WRITEFUNCTION, answer.chunks.append)
    try:
        curl.perform()
    except pycurl.error as error:
        code, message = cast(tuple[int, str], error.args)  # pycurl's (code, message)
        if code in _UNREACHABLE:
            raise UpstreamUnreachable(message) from None
        if code == pycurl.E_OPERATION_TIMEDOUT:
            if curl.getinfo(pycurl.REQUEST_SIZE) == 0:  # never connected: nothing sent
                raise UpstreamUnreachable(message) from None
            raise UpstreamTimeout(message) from None
        raise broken(code, message) from None
    _, _, rest = answer.status_line.partition(" ")
    _, _, reason = rest.partition(" ")
    return Answer(
        status=curl.getinfo(pycurl.RESPONSE_CODE),
        reason=reason,
        headers=answer.headers,
        body=b"".join(answer.chunks),
    )
