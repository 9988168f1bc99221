"""Where a request ends in the bytes received so far (what the worker reads in its poller)."""

from __future__ import annotations

import pytest

from common.runtime.request_frame import HEAD_LIMIT, Refusal, RequestFrame


def _fed_byte_by_byte(data: bytes, max_body: int = 1000) -> tuple[int, int | Refusal | None]:
    """(how many bytes were fed when the frame first answered, its answer)."""
    frame = RequestFrame(max_body)
    for size in range(1, len(data) + 1):
        answer = frame.feed(data[:size])
        if answer is not None:
            return size, answer
    return len(data), None


def test_a_request_without_a_body_ends_at_its_blank_line():
    request = b"GET /products/1 HTTP/1.1\r\nHost: x\r\n\r\n"

    assert _fed_byte_by_byte(request + b"GET /next") == (len(request), len(request))


def test_a_body_of_known_length_ends_the_request_and_the_next_request_is_left_alone():
    request = b"POST /orders HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    frame = RequestFrame(1000)

    assert frame.feed(request[:-1]) is None
    assert frame.expects_continue is False
    assert frame.feed(request + b"GET / HTTP/1.1\r\n") == len(request)


def test_a_chunked_body_ends_after_its_last_chunk_and_trailers():
    head = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    plain = head + b"4\r\nbody\r\n3;ext=1\r\nabc\r\n0\r\n\r\n"
    trailers = plain[:-2] + b"Checksum: 1\r\n\r\n"

    assert _fed_byte_by_byte(plain + b"NEXT") == (len(plain), len(plain))
    assert _fed_byte_by_byte(trailers) == (len(trailers), len(trailers))


def test_a_head_over_the_limit_is_refused_431_with_or_without_its_end():
    endless = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * HEAD_LIMIT
    complete = endless + b"\r\n\r\n"

    for data in (endless, complete):
        answer = RequestFrame(1000).feed(data)
        assert isinstance(answer, Refusal)
        assert answer.status == 431


def test_a_body_over_the_limit_is_refused_413_from_its_length_before_any_of_it():
    frame = RequestFrame(100)

    answer = frame.feed(b"POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n")

    assert isinstance(answer, Refusal)
    assert answer.status == 413
    assert answer.problem == "payload-too-large"


def test_a_chunked_body_over_the_limit_is_refused_413_as_its_chunks_add_up():
    frame = RequestFrame(100)
    head = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

    assert frame.feed(head + b"40\r\n" + b"a" * 64 + b"\r\n") is None
    answer = frame.feed(head + b"40\r\n" + b"a" * 64 + b"\r\n40\r\n")

    assert isinstance(answer, Refusal)
    assert answer.status == 413


def test_expect_100_continue_is_seen_once_the_head_is_in():
    frame = RequestFrame(1000)

    assert (
        frame.feed(b"PUT / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n") is None
    )

    assert frame.expects_continue is True


def test_an_expectation_without_a_body_to_come_is_not_one():
    frame = RequestFrame(1000)

    request = b"GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"

    assert frame.feed(request) == len(request)
    assert frame.expects_continue is False


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nno colon here\r\n\r\n",
    ],
)
def test_framing_that_cannot_be_trusted_is_handed_on_at_once_for_gunicorns_400(head):
    assert RequestFrame(1000).feed(head) == len(head)


def test_a_broken_chunk_line_is_handed_on_with_what_came():
    data = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"

    assert RequestFrame(1000).feed(data) == len(data)


def test_blank_lines_before_a_request_are_skipped():
    request = b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"

    assert RequestFrame(1000).feed(request) == len(request)
