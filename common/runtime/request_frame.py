"""Where one HTTP/1.1 request ends in the bytes a client has sent so far.

The gunicorn worker (common.runtime.gunicorn_worker) reads a request off-thread, in its poller,
until the whole of it is in: the head, then the body its Content-Length or chunked framing
announces. `RequestFrame.feed` is told the bytes read so far (from the start of the
request) and answers, without copying them:

- the offset just past the request, once it is complete (bytes beyond it are the next,
  pipelined, request);
- None while more is needed;
- a `Refusal` when the request cannot be accepted whatever follows: a head over
  HEAD_LIMIT (431), a body over the limit (413), known before the body is read.

Framing this module cannot make sense of (two lengths, a length that is not a number, a
transfer coding other than chunked, a broken chunk line) is not judged here: the request
is handed on as it stands, and gunicorn's parser answers it 400, as it always has.
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_LIMIT = 64 * 1024  # the request line, headers and (chunked) trailers, bytes
CHUNK_LINE_LIMIT = 1024  # a chunk-size line with its extensions, bytes


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str
    problem: str  # the problem type's slug
    detail: str


HEAD_TOO_LARGE = Refusal(
    431,
    "Request Header Fields Too Large",
    "header-fields-too-large",
    f"The request line and headers may take at most {HEAD_LIMIT // 1024} KiB.",
)


def body_too_large(limit: int) -> Refusal:
    return Refusal(
        413,
        "Request Entity Too Large",  # the status's phrase, as every other 413 here
        "payload-too-large",
        f"The request body is larger than this server accepts ({limit} bytes).",
    )


class RequestFrame:
    """The framing of one request, learnt as its bytes arrive (feed them all each time)."""

    __slots__ = (
        "_body_seen",
        "_chunk_at",
        "_length",
        "_scanned",
        "expects_continue",
        "head_end",
        "max_body",
    )

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.head_end: int | None = None  # offset just past the blank line
        self.expects_continue = False  # `Expect: 100-continue` and a body still to come
        self._scanned = 0  # how far the search for the head's end got
        self._length: int | None = None  # Content-Length; None when chunked
        self._chunk_at = 0  # offset of the next chunk-size line (chunked)
        self._body_seen = 0  # chunk data so far (chunked)

    def feed(self, buf: bytes | bytearray) -> int | Refusal | None:
        if self.head_end is None:
            found = self._find_head(buf)
            if found is not None:
                return found
            if self.head_end is None:
                return None
        if self._length is not None:
            end = self.head_end + self._length
            return end if len(buf) >= end else None
        return self._chunks(buf)

    # The head

    def _find_head(self, buf: bytes | bytearray) -> int | Refusal | None:
        start = 0
        while buf[start : start + 2] == b"\r\n":  # blank lines before a request are ignored
            start += 2
        at = buf.find(b"\r\n\r\n", max(start, self._scanned - 3))
        if at < 0:
            self._scanned = len(buf)
            return HEAD_TOO_LARGE if len(buf) > HEAD_LIMIT else None
        end = at + 4
        if end > HEAD_LIMIT:
            return HEAD_TOO_LARGE
        return self._read_head(bytes(buf[start:at]), end)

    def _read_head(self, head: bytes, end: int) -> int | Refusal | None:
        lowered = head.lower()
        if b"content-length" not in lowered and b"transfer-encoding" not in lowered:
            self.head_end = end
            return end  # no body (most requests): no header needs reading
        lengths: list[bytes] = []
        codings: list[bytes] = []
        expect = False
        for line in head.split(b"\r\n")[1:]:
            name, colon, value = line.partition(b":")
            if not colon:
                return end  # not a header: gunicorn's 400
            name = name.strip().lower()
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                codings += [c.strip().lower() for c in value.split(b",") if c.strip()]
            elif name == b"expect":
                expect = value.strip().lower() == b"100-continue"
        self.head_end = end
        if codings:
            if lengths or codings[-1] != b"chunked":
                return end  # both framings, or not chunked last: gunicorn's 400
            self._chunk_at = end
        elif lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                return end  # conflicting or not a number: gunicorn's 400
            self._length = int(lengths[0])
            if self._length > self.max_body:
                return body_too_large(self.max_body)
            if self._length == 0:
                return end
        else:
            return end  # no body
        self.expects_continue = expect
        return None

    # A chunked body

    def _chunks(self, buf: bytes | bytearray) -> int | Refusal | None:
        while True:
            at = self._chunk_at
            line_end = buf.find(b"\r\n", at, at + CHUNK_LINE_LIMIT)
            if line_end < 0:
                if len(buf) - at >= CHUNK_LINE_LIMIT:
                    return len(buf)  # no chunk line: gunicorn's 400
                return None
            size_text = bytes(buf[at:line_end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return len(buf)  # gunicorn's 400
            if size < 0 or not size_text:
                return len(buf)
            if size == 0:
                return self._trailers(buf, line_end + 2)
            self._body_seen += size
            if self._body_seen > self.max_body:
                return body_too_large(self.max_body)
            data_end = line_end + 2 + size
            if len(buf) < data_end + 2:
                return None
            self._chunk_at = data_end + 2

    def _trailers(self, buf: bytes | bytearray, at: int) -> int | Refusal | None:
        if buf[at : at + 2] == b"\r\n":
            return at + 2
        end = buf.find(b"\r\n\r\n", at)
        if end < 0:
            if len(buf) - at > HEAD_LIMIT:
                return HEAD_TOO_LARGE
            return None
        return end + 4
