"""Which project may call which internal endpoint (common.auth checks it on every call).

No Django here: the tests that find every internal path read it without a project.
"""

from __future__ import annotations

# Which callers each internal endpoint accepts, by path prefix: a caller's token opens only
# what it needs. An internal path not listed here accepts no caller.
SERVICE_CALLERS: dict[str, tuple[str, ...]] = {
    "/internal/reservations": ("orders",),  # orders reserves and releases stock
    # Every project's admin signs on at the user service (common.sso).
    "/internal/users/authenticate": ("gateway", "products", "orders"),
    "/internal/users/status": ("gateway", "products", "orders"),  # and …/status/sign-out
    "/internal/registry": ("users", "products", "orders"),  # self-registration at the gateway
    "/internal/cache/purge": ("products",),  # the catalog's changes purge the gateway's cache
}


def callers_for(path: str) -> tuple[str, ...]:
    """The callers the internal endpoint at `path` accepts (none when it is not listed)."""
    for prefix, callers in SERVICE_CALLERS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return callers
    return ()
