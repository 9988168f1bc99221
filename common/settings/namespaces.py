"""Typed settings, one object per namespace, parsed once (simplejwt's `api_settings`).

`settings.COMMON` (and the gateway's `settings.GATEWAY`) stay the input: plain dicts that
the settings module fills from the environment and that tests override. Each namespace
is described once, by a frozen dataclass whose fields carry the default, the parser (and
its validation) and the environment variable, so every fact has one place:

    from common.settings.namespaces import common_settings
    common_settings.HTTP_READ_TIMEOUT   # 5.0, a float, parsed when first read

A bad value stops the start with ImproperlyConfigured naming the variable (the settings
module builds its namespace with `from_mapping`, so the check runs before any request).
One `setting_changed` receiver resets every namespace object and then calls the reset
callbacks registered with `on_settings_change`, for modules that cache what they derive
from settings. A module that keeps anything else between requests (counters, remembered
answers, a warned-once flag) registers how to forget it with `on_test_reset`; only
`common.testing.reset_state()` runs those. No Django settings are read at import:
settings modules import this.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

# -- parsers: each takes the environment's string or an already typed value (tests) --------

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Rate(NamedTuple):
    """A limit per window: '100/min' is Rate(100, 60)."""

    limit: int
    window: int  # seconds


@lru_cache(maxsize=256)
def parse_rate(rate: str | Rate) -> Rate:
    """DRF's rate syntax ('100/min', '10/s', '5/hour'; also '30/5m'), parsed once per text."""
    if isinstance(rate, tuple):
        return Rate(*rate)
    match = _RATE.match(rate) if isinstance(rate, str) else None
    if not match:
        raise ValueError(f"not a rate: {rate!r} (expected like '100/min')")
    count, multiplier, unit = match.groups()
    return Rate(int(count), int(multiplier or 1) * _PERIODS[unit])


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, not {value!r}")
    return value


def url(value: Any) -> str:
    """An http(s) base URL without its trailing slash, or '' for none."""
    base = text(value).strip().rstrip("/")
    if base and not base.startswith(("http://", "https://")):
        raise ValueError(f"expected an http(s) URL, not {base!r}")
    return base


def number(
    kind: type, *, minimum: float = 0, above: bool = False, maximum: float | None = None
) -> Callable[[Any], Any]:
    """An int or float at least `minimum` (strictly above it with above=True), at most
    `maximum`."""

    def parse(value: Any) -> Any:
        try:
            parsed = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, not {value!r}") from None
        if parsed < minimum or (above and parsed == minimum):
            bound = "above" if above else "at least"
            raise ValueError(f"expected a number {bound} {minimum}, not {value!r}")
        if maximum is not None and parsed > maximum:
            raise ValueError(f"expected a number at most {maximum}, not {value!r}")
        return parsed

    return parse


def items(value: Any) -> tuple[str, ...]:
    """A comma-separated list (or a list): its non-empty entries, stripped."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    return tuple(part.strip() for part in parts if part.strip())


def networks(value: Any) -> tuple[str, ...]:
    """Addresses or CIDR networks, checked here so a typo stops the start."""
    entries = items(value)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"not an IP address or network: {entry!r}") from None
    return entries


# -- namespaces -----------------------------------------------------------------------------


def setting(default: Any, parse: Callable[[Any], Any], *, env: str | Mapping[str, str] = "") -> Any:
    """A namespace field: its default, its parser, and the variable it comes from (one
    name, or for a mapping one variable per key: {"anon": "GATEWAY_RATE_ANON"})."""
    metadata = {"parse": parse, "env": env}
    if isinstance(default, Mapping | list):
        kind: Callable[[Any], Any] = type(default)  # a fresh copy for each object
        return dataclasses.field(default_factory=lambda: kind(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


Self = TypeVar("Self", bound="Namespace")


@dataclasses.dataclass(frozen=True)
class Namespace:
    """A settings dict as a frozen object of typed fields (subclasses declare them)."""

    NAME: ClassVar[str] = ""

    @classmethod
    def from_mapping(cls: type[Self], raw: Mapping[str, Any]) -> Self:
        fields = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - set(fields))
        if unknown:
            raise ImproperlyConfigured(f"{cls.NAME} has no setting {', '.join(unknown)}")
        values = {}
        for name, value in raw.items():
            field = fields[name]
            values[name] = _parsed(field, value, f'{cls.NAME}["{name}"]')
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        """Every value, defaults included: what the settings module stores as the dict."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def _parsed(field: dataclasses.Field[Any], value: Any, where: str) -> Any:
    parse, env = field.metadata["parse"], field.metadata["env"]
    try:
        if isinstance(env, Mapping):  # one variable per key, merged over the default
            given = {key: _parsed_one(parse, v, env.get(key, where)) for key, v in value.items()}
            return {**field.default_factory(), **given}  # type: ignore[misc]
        return _parsed_one(parse, value, env or where)
    except AttributeError:
        raise ImproperlyConfigured(f"{env or where}: expected a mapping, not {value!r}") from None


def _parsed_one(parse: Callable[[Any], Any], value: Any, where: str) -> Any:
    try:
        return parse(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{where}: {error}") from None


def variables(schema: type[Namespace]) -> dict[str, str | Mapping[str, str]]:
    """Field name → the variable(s) it is read from (common.settings.env reads them)."""
    return {
        field.name: field.metadata["env"]
        for field in dataclasses.fields(schema)
        if field.metadata.get("env")
    }


N = TypeVar("N", bound=Namespace)


class SettingsObject(Generic[N]):
    """settings.<NAME> parsed on first use; each attribute then cached on this object.

    As in DRF's and simplejwt's APISettings, a read after the first is a plain attribute
    lookup (the gateway reads these on every request); `reload()` forgets them all.
    """

    def __init__(self, schema: type[N]) -> None:
        self._schema = schema
        self._parsed: N | None = None
        self._cached: set[str] = set()
        _objects[schema.NAME] = self

    def parsed(self) -> N:
        if self._parsed is None:
            from django.conf import settings

            self._parsed = self._schema.from_mapping(getattr(settings, self._schema.NAME, {}))
        return self._parsed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self.parsed(), name)
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()
        self._parsed = None


_objects: dict[str, SettingsObject[Any]] = {}
_callbacks: list[tuple[frozenset[str], Callable[[], None]]] = []


def on_settings_change(*names: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register `callback()` to run after any of the named settings changes (tests), once
    the namespace objects have been reset, so it reads the new values."""

    def register(callback: Callable[[], None]) -> Callable[[], None]:
        _callbacks.append((frozenset(names), callback))
        return callback

    return register


_test_resets: list[Callable[[], None]] = []


def on_test_reset(callback: Callable[[], None]) -> Callable[[], None]:
    """Register `callback()`, which forgets what its module keeps between requests, for
    `common.testing.reset_state()` (before every test). Running code never calls it."""
    _test_resets.append(callback)
    return callback


def registered_resets() -> tuple[Callable[[], None], ...]:
    """What `on_test_reset` registered, in order (common.testing.reset_state runs them)."""
    return tuple(_test_resets)


def _settings_changed(*, setting: str, **kwargs: object) -> None:
    """The one reload hook."""
    if setting in _objects:
        _objects[setting].reload()
    for names, callback in _callbacks:
        if setting in names:
            callback()


setting_changed.connect(_settings_changed)


# -- COMMON: what the shared mechanism reads in every project ------------------------------

# Where the services' own client-IP reading (login limits) believes X-Forwarded-For: they
# sit behind the gateway on a private network. The gateway trusts only its own list.
PRIVATE_NETWORKS = (
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
)


@dataclasses.dataclass(frozen=True)
class CommonSettings(Namespace):
    """settings.COMMON. Fields without a variable are computed by common.settings.base."""

    NAME: ClassVar[str] = "COMMON"

    SERVICE_NAME: str = setting("", text)
    SERVICE_TOKEN: str = setting("", text)  # common.settings.env.secret("SERVICE_TOKEN")
    # `orders=…,gateway=…`: each caller its own token (common.identity.auth); empty: SERVICE_TOKEN.
    SERVICE_TOKENS: tuple[str, ...] = setting((), items, env="SERVICE_TOKENS")
    SERVICE_URLS: dict[str, str] = setting({}, dict)  # <NAME>_SERVICE_URL, common.topology
    JWT_PUBLIC_KEYS: str = setting("", text)  # common.settings.env.jwt_public_keys
    JWT_PRIVATE_KEY: str = setting("", text)  # the user service's signing key
    JWT_JWKS_URL: str = setting("", url)  # common.settings.env.jwt_jwks_url
    JWT_JWKS_TTL: float = setting(300.0, number(float), env="JWT_JWKS_TTL")
    PROBLEM_TYPE_BASE: str = setting("https://errors.example/", text, env="PROBLEM_TYPE_BASE")
    HTTP_CONNECT_TIMEOUT: float = setting(
        1.0, number(float, above=True), env="HTTP_CONNECT_TIMEOUT"
    )
    HTTP_READ_TIMEOUT: float = setting(5.0, number(float, above=True), env="HTTP_READ_TIMEOUT")
    # A service calling another (common.identity.service_client): consecutive failures of
    # an instance that take it out of balancing and open its breaker, and the first time
    # out (doubling on each ejection, as at the gateway).
    SERVICE_CALL_FAILURES: int = setting(5, number(int, minimum=1), env="SERVICE_CALL_FAILURES")
    SERVICE_CALL_EJECT_SECONDS: float = setting(
        10.0, number(float, above=True), env="SERVICE_CALL_EJECT_SECONDS"
    )
    # How long an instance's open breaker refuses calls before one trial (doubling on
    # each reopening, up to 8x).
    SERVICE_CALL_RESET_SECONDS: float = setting(
        10.0, number(float, above=True), env="SERVICE_CALL_RESET_SECONDS"
    )
    # Where clients reach the API (the gateway's public URL): absolute links a service
    # builds (pagination's next/previous) start with it, never with the client's Host, so
    # no Host can make a cached answer link elsewhere. Empty: links are relative (a path).
    # PUBLIC_ORIGIN, read by common.settings.base.public_origin (development: the gateway's URL).
    PUBLIC_ORIGIN: str = setting("", url)
    # The gateway's base URL for service-to-gateway calls (cache purges); empty: none.
    GATEWAY_INTERNAL_URL: str = setting("", url, env="GATEWAY_INTERNAL_URL")
    # The gateway's own GATEWAY_TRUSTED_PROXIES replaces this in its settings.
    TRUSTED_PROXIES: tuple[str, ...] = setting(PRIVATE_NETWORKS, networks, env="TRUSTED_PROXIES")
    # Admin (and SSO) logins per client IP, before any password is hashed.
    ADMIN_RATE_LOGIN: Rate = setting(parse_rate("10/min"), parse_rate, env="ADMIN_RATE_LOGIN")
    # Keys more than one project reads and writes (token revocation; the response cache,
    # which the product service purges): one namespace, whatever each cache's KEY_PREFIX.
    SHARED_CACHE_PREFIX: str = setting("shared", text, env="SHARED_CACHE_PREFIX")
    # How long a worker remembers a verified access token (common.identity.auth); 0: not at all.
    TOKEN_CACHE_SECONDS: float = setting(30.0, number(float), env="TOKEN_CACHE_SECONDS")


common_settings: CommonSettings = SettingsObject(CommonSettings)  # type: ignore[assignment]
