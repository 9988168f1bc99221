"""Lua scripts as one EVALSHA on this thread's own Redis connection.

redis-py's `Script.__call__` goes through the client's command machinery (options,
retries, the pool's lock and pid checks, a poll of the socket before each command),
several times what the same EVALSHA sent on a kept connection costs (measured in
docs/performance.md, "Framework bypasses").
Every request the gateway forwards runs two (its throttle count and the response
cache's lookup), and common.limits.shared_redis runs every script this way. The connection is
redis-py's own, made with the cache pool's settings (address, database, password,
timeouts, hiredis parsing); only the per-command wrapping is skipped. The scripts of
one pool share the thread's connection.

This is the only module that reaches into redis-py. It relies on:
- `ConnectionPool.connection_class` and `.connection_kwargs`: a connection made as the
  pool makes its own;
- `Connection._sock`: None until `connect()`, and again after `disconnect()` (a kept
  connection is one whose `_sock` is set);
- `Connection.send_packed_command(command, check_health=False)`: sends without the
  health check (a PING after an idle spell), `pack_command(*args)` and `read_response()`
  (raising NoScriptError for an unknown script, ConnectionError for a dead socket).
common/tests/test_redis_internals.py is their canary: it fails, naming the part, when a
redis-py release changes one of them.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

_local = threading.local()


def thread_connection(pool: Any) -> Any:
    """This thread's connection made with `pool`'s settings (not taken from the pool)."""
    connections = getattr(_local, "connections", None)
    if connections is None or _local.pid != os.getpid():
        # A forked child never shares its parent's sockets.
        connections = _local.connections = {}
        _local.pid = os.getpid()
    connection = connections.get(pool)
    if connection is None:
        connection = connections[pool] = pool.connection_class(**pool.connection_kwargs)
    return connection


class ThreadScript:
    """A Lua script called with `script(keys=[...], args=[...])`, like redis-py's Script.

    Each thread keeps one connection (a gateway worker has a few threads). A kept
    connection that the server closed meanwhile (a restart, an idle timeout) fails on
    the next use: the call is sent once more on a new connection, as redis-py does.
    Errors are redis-py's (RedisError, or OSError from the socket).
    """

    def __init__(self, client: Any, source: str) -> None:
        self.pool = client.connection_pool
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 -- Redis' script id

    def __call__(self, *, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        connection, kept = self._connection()
        try:
            return self._evalsha(connection, keys, args)
        except RedisConnectionError:
            connection.disconnect()
            if not kept:
                raise
            return self._evalsha(connection, keys, args)
        except BaseException:
            connection.disconnect()
            raise

    def _connection(self) -> tuple[Any, bool]:
        """This thread's connection, and whether it was connected before this call."""
        connection = thread_connection(self.pool)
        kept = connection._sock is not None
        if not kept:
            connection.connect()
        return connection, kept

    def _evalsha(self, connection: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        connection.send_packed_command(
            connection.pack_command("EVALSHA", self.sha, len(keys), *keys, *args),
            check_health=False,
        )
        try:
            return connection.read_response()
        except NoScriptError:  # a new or flushed server: EVAL loads it as it runs
            connection.send_packed_command(
                connection.pack_command("EVAL", self.source, len(keys), *keys, *args),
                check_health=False,
            )
            return connection.read_response()
