"""The service registry: the one list of projects, ports and names.

manage_all.py, the settings, the tests and the deployment checks all read it.

Standard library only: manage_all.py imports it before any virtualenv exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str  # short name used on the command line, in URLs, metrics and logs
    package: str  # the Django project's package at the repository root
    port: int  # default port in development
    title: str

    @property
    def settings_module(self) -> str:
        return f"{self.package}.settings"

    @property
    def wsgi_app(self) -> str:
        return f"{self.package}.wsgi:application"

    @property
    def env_prefix(self) -> str:
        return self.name.upper()

    @property
    def database_url_var(self) -> str:
        return f"{self.env_prefix}_DATABASE_URL"

    @property
    def url_var(self) -> str:
        return f"{self.env_prefix}_SERVICE_URL"

    @property
    def default_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def liveness_path(self) -> str:
        # The gateway's /health is the aggregate of every service's /ready.
        return "/health/live" if self.name == "gateway" else "/health"


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service("gateway", "gateway_project", 8000, "API gateway"),
        Service("users", "user_service", 8001, "User service"),
        Service("products", "product_service", 8002, "Product service"),
        Service("orders", "order_service", 8003, "Order service"),
    )
}

UPSTREAMS = ("users", "products", "orders")
