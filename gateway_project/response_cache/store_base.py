"""What a response store is and trades in, apart from either store (memory, Redis)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol


class StoreUnavailable(Exception):
    """The shared store cannot be reached: answer from the service, store nothing."""


class Found(NamedTuple):
    raw: bytes | None  # the stored entry, if any
    seq: int  # the purge sequence number when looked up: hand it back to `put`


class Offer(NamedTuple):
    """An answer offered for storing: under `base` for the request `headers` that its
    Vary `names` select, for `ttl` seconds, tagged; `seen` is what the lookup returned."""

    base: str
    names: Sequence[str]
    headers: Mapping[str, str]
    raw: bytes
    ttl: int
    tags: Sequence[str]
    seen: int


class Store(Protocol):
    def lookup(self, base: str, headers: Mapping[str, str]) -> Found: ...

    def put(self, offer: Offer) -> bool: ...

    def purge(self, tags: Sequence[str]) -> int: ...

    def reset(self) -> None: ...
