"""A canary for the parts of redis-py's `Connection` that common.limits.redis_scripts
builds on (listed at the top of that module).

`ThreadScript` sends EVALSHA on a connection of its own, made from the pool's
`connection_class` and `connection_kwargs`, tells a kept connection from a new one by
`_sock`, and sends with `send_packed_command(..., check_health=False)`. If a redis-py
release renames or reshapes one of them, this fails here, naming it, instead of every
script silently reconnecting per call or failing at the first request. The behaviour
against a server is shown by common/tests/test_redis_scripts.py.
"""

from __future__ import annotations

import inspect
import secrets

import pytest
import redis
from django.core.cache import caches
from redis.connection import AbstractConnection, Connection, ConnectionPool
from redis.exceptions import NoScriptError

from common.limits.redis_scripts import thread_connection
from common.limits.shared_redis import is_redis_cache

LOOK = (
    "redis-py {version} changed {what}: common/limits/redis_scripts.py relies on it "
    "(see its docstring; docs/performance.md, 'Framework bypasses'): adapt ThreadScript "
    "or call redis-py's Script instead."
)
needs_redis = pytest.mark.skipif(
    not is_redis_cache(caches["default"]), reason="REDIS_URL not set: no Redis to talk to"
)


def _changed(what: str) -> str:
    return LOOK.format(version=redis.__version__, what=what)


def _parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_connection_methods_it_calls_keep_their_signatures():
    assert _parameters(Connection.pack_command)[:1] == ["self"], _changed("pack_command")
    assert inspect.signature(Connection.pack_command).parameters["args"].kind is (
        inspect.Parameter.VAR_POSITIONAL
    ), _changed("pack_command(*args)")
    assert _parameters(Connection.send_packed_command) == ["self", "command", "check_health"], (
        _changed("send_packed_command(command, check_health)")
    )
    assert _parameters(Connection.read_response)[:2] == ["self", "disable_decoding"], _changed(
        "read_response()"
    )
    for name in ("connect", "disconnect"):
        assert callable(getattr(Connection, name, None)), _changed(f"Connection.{name}")


def test_a_pool_still_holds_the_class_and_settings_its_connections_are_made_with():
    pool = ConnectionPool(host="127.0.0.1", port=1, db=11, socket_timeout=0.5)

    assert pool.connection_class is Connection, _changed("ConnectionPool.connection_class")
    assert pool.connection_kwargs["db"] == 11, _changed("ConnectionPool.connection_kwargs")
    connection = thread_connection(pool)
    assert isinstance(connection, Connection)
    assert (connection.host, connection.port, connection.db) == ("127.0.0.1", 1, 11), _changed(
        "Connection(**pool.connection_kwargs)"
    )
    assert thread_connection(pool) is connection  # one per thread and pool


def test_sock_is_none_before_a_connection_is_made():
    connection = Connection(host="127.0.0.1", port=1)

    assert hasattr(connection, "_sock"), _changed("Connection._sock (it is gone)")
    assert connection._sock is None, _changed("Connection._sock before connect()")
    assert "self._sock = None" in inspect.getsource(AbstractConnection.disconnect), _changed(
        "disconnect() (it no longer sets _sock to None)"
    )


def test_no_health_check_is_made_when_it_is_not_asked_for():
    connection = Connection(host="127.0.0.1", port=1)
    connection._sock = _Sink()  # a connected socket, as far as sending goes
    connection.check_health = _fail_health_check
    try:
        connection.send_packed_command(connection.pack_command("PING"), check_health=False)
    finally:
        connection._sock = None
    assert b"PING" in b"".join(_Sink.sent), _changed("send_packed_command (nothing was sent)")


class _Sink:
    sent: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        _Sink.sent.append(bytes(data))

    def settimeout(self, timeout: float | None) -> None:
        pass


def _fail_health_check() -> None:
    raise AssertionError(_changed("send_packed_command(check_health=False) (it checked)"))


@needs_redis
def test_sock_is_set_by_connect_and_cleared_by_disconnect():
    pool = caches["default"].client.get_client(write=True).connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)

    connection.connect()
    try:
        assert connection._sock is not None, _changed("Connection._sock after connect()")
    finally:
        connection.disconnect()
    assert connection._sock is None, _changed("Connection._sock after disconnect()")


@needs_redis
def test_a_packed_evalsha_answers_as_the_clients_evalsha_and_an_unknown_one_raises():
    client = caches["default"].client.get_client(write=True)
    pool = client.connection_pool
    connection = pool.connection_class(**pool.connection_kwargs)
    source = f"-- {secrets.token_hex(8)}\nreturn ARGV[1] + 1"
    sha = client.script_load(source)
    connection.connect()
    try:
        connection.send_packed_command(
            connection.pack_command("EVALSHA", sha, 0, 41), check_health=False
        )
        assert connection.read_response() == client.evalsha(sha, 0, 41) == 42, _changed(
            "pack_command/read_response for EVALSHA"
        )
        connection.send_packed_command(
            connection.pack_command("EVALSHA", "0" * 40, 0), check_health=False
        )
        with pytest.raises(NoScriptError):  # ThreadScript then sends EVAL
            connection.read_response()
    finally:
        connection.disconnect()
