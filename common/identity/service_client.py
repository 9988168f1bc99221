"""Calls from one service to another: one pooled session per process, bounded in time.

Every call carries the request id and traceparent of the request being served, and this
project's own service token (common.identity.auth.own_service_token); failures surface as DRF
exceptions (503 with Retry-After, 504) that the caller may catch to compensate.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from rest_framework.exceptions import APIException

from common.identity.auth import SERVICE_TOKEN_HEADER, own_service_token
from common.observability import tracing
from common.observability.context import request_id_var, traceparent_var
from common.settings.namespaces import common_settings, on_settings_change

logger = logging.getLogger(__name__)


class ServiceUnavailable(APIException):
    status_code = 503
    default_detail = "A service this request depends on is unavailable; try again shortly."
    default_code = "service_unavailable"
    wait = 5  # seconds; DRF sends it as Retry-After

    def __init__(self, detail: str | None = None, *, service: str = "") -> None:
        super().__init__(detail)
        self.service = service


class ServiceTimeout(ServiceUnavailable):
    status_code = 504
    default_detail = "A service this request depends on did not answer in time."
    default_code = "service_timeout"


class ServiceClient:
    """A `requests.Session` bound to one service's base URL, with sane timeouts."""

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        service_token: str,
        connect_timeout: float = 1.0,
        read_timeout: float = 5.0,
        pool_size: int = 16,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        # Proxy settings from the environment are re-read on every call otherwise.
        self.session.trust_env = False
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers[SERVICE_TOKEN_HEADER] = service_token

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
    ) -> requests.Response:
        """Send the call; connection failures → ServiceUnavailable, timeouts → ServiceTimeout."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        started = time.perf_counter()
        try:
            with tracing.span(f"{method} {self.name}", **{"peer.service": self.name}):
                outgoing = {"X-Request-ID": request_id_var.get()}
                if traceparent := traceparent_var.get():  # inside the span: it names it
                    outgoing["traceparent"] = traceparent
                outgoing.update(headers or {})
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=outgoing,
                    timeout=timeout or self.timeout,
                )
        except requests.Timeout as error:
            logger.warning("%s %s %s timed out: %s", self.name, method, path, error)
            raise ServiceTimeout(service=self.name) from error
        except requests.RequestException as error:
            logger.warning("%s %s %s failed: %s", self.name, method, path, error)
            raise ServiceUnavailable(service=self.name) from error
        logger.debug(
            "%s %s %s -> %s",
            self.name,
            method,
            path,
            response.status_code,
            extra={"upstream_ms": round((time.perf_counter() - started) * 1000, 2)},
        )
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)


def first_base_url(value: str) -> str:
    """The first entry of a service URL variable, as a plain URL.

    The gateway balances over every entry (and every address of a `dns+http://` name);
    a service calling another needs one address: a DNS name resolves through the
    system resolver, which rotates over a Compose or Kubernetes name's addresses.
    """
    first = value.split(",", 1)[0].strip()
    return first.removeprefix("dns+")


@cache
def client_for(name: str) -> ServiceClient:
    """The process-wide client for a service named in common.topology."""
    return ServiceClient(
        name,
        first_base_url(common_settings.SERVICE_URLS[name]),
        service_token=own_service_token(),
        connect_timeout=common_settings.HTTP_CONNECT_TIMEOUT,
        read_timeout=common_settings.HTTP_READ_TIMEOUT,
    )


on_settings_change("COMMON")(client_for.cache_clear)
