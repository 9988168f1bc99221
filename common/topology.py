"""The service registry: the one list of projects, ports and names.

The launcher (devtools/launcher, behind manage_all.py), the test runner, the settings and
the route table's checks read it, and `manage_all.py render` writes the deployment files'
parts that follow from it (compose, Kubernetes, Prometheus, .env.example, the PostgreSQL
roles, the Dockerfile, the import contracts): adding a service is a folder, one entry
below, its rows in the gateway's route table and one `render` (docs/architecture.md,
"Add a service").

Standard library only: manage_all.py imports it before any virtualenv exists.
"""

from __future__ import annotations

from dataclasses import dataclass

GATEWAY = "gateway"


@dataclass(frozen=True)
class Service:
    name: str  # short name used on the command line, in URLs, metrics and logs
    package: str  # the Django project's package at the repository root
    port: int  # default port in development
    title: str
    colour: str  # ANSI colour of its lines under `manage_all.py up`
    # Management commands `up` runs after migrating (idempotent: demo data for a new database).
    seed_commands: tuple[str, ...] = ()

    @property
    def is_gateway(self) -> bool:
        return self.name == GATEWAY

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
    def secret_key_var(self) -> str:
        return f"{self.env_prefix}_SECRET_KEY"

    @property
    def url_var(self) -> str:
        return f"{self.env_prefix}_SERVICE_URL"

    @property
    def port_var(self) -> str:
        return f"{self.env_prefix}_PORT"

    @property
    def default_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def liveness_path(self) -> str:
        # The gateway's /health is the aggregate of every service's /ready.
        return "/health/live" if self.is_gateway else "/health"

    @property
    def database(self) -> str:
        """Its database's name (each project owns one): PostgreSQL's, compose's, k8s's."""
        return self.name


def registry(*services: Service) -> dict[str, Service]:
    """Services by name, in the order given: the gateway first, then the upstreams."""
    return {service.name: service for service in services}


def upstreams(services: dict[str, Service]) -> tuple[str, ...]:
    """The services behind the gateway, in registry order."""
    return tuple(name for name, service in services.items() if not service.is_gateway)


SERVICES: dict[str, Service] = registry(
    Service("gateway", "gateway_project", 8000, "API gateway", colour="35"),
    Service("users", "user_service", 8001, "User service", colour="36"),
    Service(
        "products",
        "product_service",
        8002,
        "Product service",
        colour="33",
        seed_commands=("load_demo_catalog",),
    ),
    Service("orders", "order_service", 8003, "Order service", colour="32"),
)

UPSTREAMS: tuple[str, ...] = upstreams(SERVICES)
