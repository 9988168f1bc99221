"""Adding a service is one folder, one registry entry and its route-table rows.

Built from a registry with a fifth service, `reviews`: the launcher's plan (start order,
ports, colours, URL table, --scale, pytest suites, checks) and the import-linter contracts
follow with no code change; the deployment checks list exactly the lines the deployment
files still need (docs/architecture.md, "Add a service").
"""

from __future__ import annotations

import tomllib

from common.topology import SERVICES, UPSTREAMS, Service, registry
from devtools.harness import REPO_ROOT
from devtools.launcher.plan import (
    colours,
    count_word,
    front_door,
    own_port_rows,
    pytest_suites,
    scalable,
    start_order,
)
from devtools.launcher.suites import check_commands, import_contracts
from tests.deploy_checks import deployment_gaps

REVIEWS = Service("reviews", "review_service", 8004, "Review service", colour="34")
WITH_REVIEWS = registry(*SERVICES.values(), REVIEWS)


def test_the_registry_is_the_gateway_then_its_upstreams():
    assert list(SERVICES) == ["gateway", "users", "products", "orders"]
    assert UPSTREAMS == ("users", "products", "orders")
    assert len({s.port for s in SERVICES.values()}) == len(SERVICES)
    assert len({s.colour for s in SERVICES.values()}) == len(SERVICES)
    assert len({s.package for s in SERVICES.values()}) == len(SERVICES)


def test_the_launchers_plan_of_the_real_registry_is_what_up_always_did():
    assert start_order() == ("users", "products", "orders", "gateway")
    assert colours() == {
        "gateway": "35",
        "users": "36",
        "products": "33",
        "orders": "32",
        "up": "1",
    }
    assert scalable() == ("users", "products", "orders")
    assert list(pytest_suites()) == ["common", "gateway", "users", "products", "orders", "e2e"]
    assert count_word(len(SERVICES)) == "four"


def test_the_launchers_plan_takes_a_new_service_from_its_registry_entry():
    assert start_order(WITH_REVIEWS) == ("users", "products", "orders", "reviews", "gateway")
    assert colours(WITH_REVIEWS)["reviews"] == "34"
    assert scalable(WITH_REVIEWS) == ("users", "products", "orders", "reviews")
    assert count_word(len(WITH_REVIEWS)) == "five"  # "all five are ready"
    assert front_door(8000, WITH_REVIEWS)[5:] == [
        ("admin: users", "http://localhost:8000/admin/users/"),
        ("admin: products", "http://localhost:8000/admin/products/"),
        ("admin: orders", "http://localhost:8000/admin/orders/"),
        ("admin: reviews", "http://localhost:8000/admin/reviews/"),
        ("health", "http://localhost:8000/health"),
    ]
    instances = [(name, WITH_REVIEWS[name], 9000 + i) for i, name in enumerate(WITH_REVIEWS)]
    rows = own_port_rows(list(reversed(instances)), WITH_REVIEWS)
    assert [row[0] for row in rows] == ["gateway", "users", "products", "orders", "reviews"]
    assert rows[-1] == (
        "reviews",
        "http://localhost:9004",
        "http://localhost:9004/ready",
        "http://localhost:9004/api/docs",
        "http://localhost:9004/admin/",
    )
    suites = pytest_suites(WITH_REVIEWS)
    assert list(suites)[-2:] == ["reviews", "e2e"]
    assert suites["reviews"] == ("review_service.settings", "review_service")
    labels = [label for label, _, _ in check_commands(WITH_REVIEWS)]
    assert labels[-2:] == ["reviews: makemigrations --check", "reviews: OpenAPI schema valid"]
    assert REVIEWS.database_url_var == "REVIEWS_DATABASE_URL"
    assert REVIEWS.url_var == "REVIEWS_SERVICE_URL"
    assert REVIEWS.port_var == "REVIEWS_PORT"


def test_the_import_contracts_in_pyproject_are_the_registrys():
    """pyproject.toml is static TOML: this test keeps its contracts equal to the registry's;
    the others (the layers of the gateway and of common, the launcher's standard library)
    no new service changes."""
    section = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    wanted = import_contracts()
    assert section["root_packages"] == wanted["root_packages"]
    registry_names = {contract["name"] for contract in wanted["contracts"]}
    assert [c for c in section["contracts"] if c["name"] in registry_names] == wanted["contracts"]
    others = [c for c in section["contracts"] if c["name"] not in registry_names]
    assert [(c["type"], c.get("containers", c.get("source_modules"))) for c in others] == [
        ("layers", ["common"]),
        ("forbidden", ["devtools.launcher"]),
        ("layers", ["gateway_project"]),
    ]
    contracts = import_contracts(WITH_REVIEWS)
    assert contracts["root_packages"][-1] == "review_service"
    assert all(c.get("modules", c.get("forbidden_modules"))[-1] == "review_service"
               for c in contracts["contracts"])  # fmt: skip


def test_the_deployment_files_cover_the_registry():
    assert deployment_gaps() == []


def test_a_new_service_lists_what_the_deployment_files_still_need():
    """The checklist of a fifth service: nothing outside these files needs a change."""
    assert deployment_gaps(WITH_REVIEWS) == [
        "pyproject.toml: root_packages lists review_service",
        "pyproject.toml: modules of 'Services talk HTTP only: no project imports another'"
        " lists review_service",
        "pyproject.toml: forbidden_modules of 'common is mechanism: it imports no project'"
        " lists review_service",
        "pyproject.toml: forbidden_modules of 'devtools works on the projects from outside:"
        " it imports none of them' lists review_service",
        "docker-compose.yml: migrate runs `for project in user_service product_service"
        " order_service review_service gateway_project;`",
        "docker-compose.yml: migrate sets REVIEWS_DATABASE_URL",
        "docker-compose.yml: migrate sets REVIEWS_SECRET_KEY",
        "docker-compose.yml: x-env sets REVIEWS_SERVICE_URL",
        "docker-compose.yml: the gateway sets REVIEWS_SERVICE_URL=dns+http://reviews:8004",
        "docker-compose.yml: the gateway depends on reviews being healthy",
        "docker-compose.yml: a service 'reviews'",
        "Dockerfile: `COPY review_service ./review_service` in both stages",
        "Dockerfile: collectstatic's loop names review_service",
        "deploy/postgres-init.sql: \\getenv reviews_password REVIEWS_DB_PASSWORD",
        "deploy/postgres-init.sql: CREATE ROLE reviews LOGIN PASSWORD :'reviews_password'"
        " NOSUPERUSER NOCREATEDB NOCREATEROLE;",
        "deploy/postgres-init.sql: CREATE DATABASE reviews OWNER reviews;",
        "deploy/postgres-init.sql: REVOKE ALL ON DATABASE reviews FROM PUBLIC;",
        ".env.example: REVIEWS_SECRET_KEY=",
        ".env.example: REVIEWS_DATABASE_URL=",
        ".env.example: REVIEWS_SERVICE_TOKEN=",
        ".env.example: REVIEWS_DB_PASSWORD=",
        ".env.example: REVIEWS_SERVICE_URL=http://127.0.0.1:8004",
        "deploy/monitoring/prometheus.yml: a job 'reviews' on port 8004",
        "deploy/monitoring/alerts.yml: InstanceDown watches job 'reviews'",
        "deploy/monitoring/config.alloy: keeps the lines of 'reviews'",
        "deploy/k8s/base/migrate-job.yaml: runs `for project in user_service product_service"
        " order_service review_service gateway_project;`",
        "deploy/k8s/base/secrets.yaml: a placeholder REVIEWS_DATABASE_URL",
        "deploy/k8s/base/migrate-job.yaml: sets REVIEWS_DATABASE_URL",
        "deploy/k8s/base/secrets.yaml: a placeholder REVIEWS_SECRET_KEY",
        "deploy/k8s/base/migrate-job.yaml: sets REVIEWS_SECRET_KEY",
        "deploy/k8s/base/reviews.yaml (in kustomization.yaml): Deployment reviews",
        "deploy/k8s/base/reviews.yaml (in kustomization.yaml): Service reviews",
        "deploy/k8s/base/reviews.yaml (in kustomization.yaml): PodDisruptionBudget reviews",
        "deploy/k8s/base/reviews.yaml (in kustomization.yaml): Service reviews-headless",
        "deploy/k8s/base/network-policies.yaml: NetworkPolicy reviews-ingress",
        "deploy/k8s/base/network-policies.yaml: NetworkPolicy reviews-egress",
        "deploy/k8s/base/secrets.yaml: a placeholder REVIEWS_SERVICE_TOKEN",
        "deploy/k8s/base/secrets.yaml: a placeholder REVIEWS_SERVICE_TOKEN_ACCEPTED",
        "deploy/k8s/base/config.yaml: REVIEWS_SERVICE_URL",
        "deploy/k8s/base/gateway.yaml: REVIEWS_SERVICE_URL=dns+http://reviews-headless:8004",
        "deploy/k8s/base/network-policies.yaml: gateway-egress reaches reviews",
    ]


def test_coverage_measures_common_and_every_project_in_the_registry():
    """`test --coverage` measures what import-linter guards, the tools that work on the
    projects (devtools) aside."""
    section = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["coverage"]
    roots = [p for p in import_contracts()["root_packages"] if p != "devtools"]
    assert section["run"]["source"] == roots
