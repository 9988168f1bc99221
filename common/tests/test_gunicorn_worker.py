"""A canary for the parts of gunicorn's gthread worker that common.runtime.gunicorn_worker
builds on.

The worker overrides gthread's accept, keep-alive and completion steps and hands gunicorn's
parser the bytes it read. If a gunicorn release renames or reshapes one of them, this
fails here, naming it, before a server starts with a worker that silently falls back to
reading on app threads. (Its behaviour is shown end to end by tests/test_slow_clients*.)
"""

from __future__ import annotations

import inspect

from gunicorn.http import message, unreader, wsgi
from gunicorn.workers.gthread import TConn, ThreadWorker

from common.runtime.gunicorn_worker import BufferingThreadWorker


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_gthread_steps_the_worker_overrides_are_still_there_with_their_signatures():
    expected = {
        "accept": ["self", "listener"],
        "on_client_socket_readable": ["self", "conn", "client"],
        "finish_request": ["self", "conn", "fs"],
        "enqueue_req": ["self", "conn"],
        "murder_pending": ["self"],
        "wait_for_and_dispatch_events": ["self", "timeout"],
        "handle": ["self", "conn"],
        "handle_request": ["self", "req", "conn"],
        "init_process": ["self"],
    }

    for name, parameters in expected.items():
        assert _parameters(getattr(ThreadWorker, name)) == parameters, name
        assert getattr(BufferingThreadWorker, name) is not getattr(ThreadWorker, name) or (
            name == "enqueue_req"  # called, not overridden
        ), name


def test_the_worker_state_it_reads_is_still_gthreads():
    source = inspect.getsource(ThreadWorker)
    for attribute in ("self.poller", "self.keepalived_conns", "self.nr_conns", "self.alive"):
        assert attribute in source, attribute
    assert _parameters(TConn.__init__) == ["self", "cfg", "sock", "client", "server"]
    tconn = inspect.getsource(TConn)
    assert "self.data_ready" in tconn  # a connection marked ready is not waited on again
    assert "self.parser" in tconn
    assert "def init(self)" in tconn


def test_the_parser_takes_bytes_back_and_the_100_continue_flag_is_where_it_was():
    assert _parameters(unreader.Unreader.unread) == ["self", "data"]
    assert _parameters(unreader.Unreader.take_buffered) == ["self"]
    assert "_expected_100_continue" in inspect.getsource(message.Message)
    assert "req._expected_100_continue" in inspect.getsource(wsgi.create)
