"""Which project may call which internal endpoint (common.identity.auth checks it on every call).

No Django here: the tests that find every internal path read it without a project.
"""

from __future__ import annotations

REGISTRY_PREFIX = "/internal/registry"

# Which callers each internal endpoint accepts, by path prefix: a caller's token opens only
# what it needs. An internal path not listed here accepts no caller.
SERVICE_CALLERS: dict[str, tuple[str, ...]] = {
    "/internal/reservations": ("orders",),  # orders reserves and releases stock
    # Every project's admin signs on at the user service (common.identity.sso).
    "/internal/users/authenticate": ("gateway", "products", "orders"),
    "/internal/users/status": ("gateway", "products", "orders"),  # and …/status/sign-out
    # Self-registration at the gateway; each caller only for its own service (may_register).
    REGISTRY_PREFIX: ("users", "products", "orders"),
    "/internal/cache/purge": ("products",),  # the catalog's changes purge the gateway's cache
}


def callers_for(path: str) -> tuple[str, ...]:
    """The callers the internal endpoint at `path` accepts (none when it is not listed)."""
    for prefix, callers in SERVICE_CALLERS.items():
        if path == prefix or path.startswith(prefix + "/"):
            return callers
    return ()


def may_register(callers: set[str], service: str) -> bool:
    """Whether a token of `callers` may register or deregister instances of `service`: a
    caller only its own (the products token never names an instance of `users`, which would
    be sent logins and passwords). A caller's name is its service's name (common.topology).

    The one shared SERVICE_TOKEN is every caller's at once, so it passes for every
    service: only per-caller SERVICE_TOKENS tell callers apart (docs/security.md)."""
    return service in callers and service in callers_for(REGISTRY_PREFIX)
