"""Adding a service is one folder, one registry entry, its route-table rows and one
`manage_all.py render`.

Built from a registry with a fifth service, `reviews`: the launcher's plan (start order,
ports, colours, URL table, --scale, pytest suites, checks) follows with no code change,
and `render` writes its parts of every deployment file into a copy of them: its compose
service, Kubernetes objects, Prometheus job, variables, database role, image lines and
import contracts (docs/architecture.md, "Add a service"). `render --check` names a file
whose generated lines were edited by hand.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

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
from devtools.launcher.render import RenderError, blocks, command_render, render, stale
from devtools.launcher.suites import check_commands
from tests.deploy_checks import kustomize, pod_spec

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


# What render reads: the files it fills in, and the rest of the kustomizations.
RENDERED = [path for path in blocks(SERVICES) if not path.startswith("deploy/")]


def copy_of_the_repository(root: Path) -> Path:
    shutil.copytree(REPO_ROOT / "deploy", root / "deploy")
    for relative in RENDERED:
        shutil.copy(REPO_ROOT / relative, root / relative)
    return root


@pytest.fixture(scope="module")
def with_reviews(tmp_path_factory) -> Path:
    """A copy of the deployment files, rendered for the registry with `reviews`."""
    root = copy_of_the_repository(tmp_path_factory.mktemp("reviews"))
    for path, text in render(root, WITH_REVIEWS).items():
        path.write_text(text)
    return root


def test_the_committed_files_are_what_render_writes():
    assert stale(REPO_ROOT) == []


def test_render_check_names_a_file_edited_by_hand_and_render_restores_it(tmp_path):
    root = copy_of_the_repository(tmp_path)
    config = root / "deploy/k8s/base/config.yaml"
    config.write_text(config.read_text().replace("http://orders:8003", "http://orders:9"))
    said: list[str] = []
    assert command_render(root, check=True, say=said.append) == 1
    assert said[0] == "deploy/k8s/base/config.yaml: not what `manage_all.py render` writes"
    assert command_render(root, check=False, say=said.append) == 0
    assert (root / "deploy/k8s/base/config.yaml").read_text() == (
        REPO_ROOT / "deploy/k8s/base/config.yaml"
    ).read_text()
    assert command_render(root, check=True, say=said.append) == 0


def test_a_marker_without_its_block_or_its_end_is_an_error(tmp_path):
    root = copy_of_the_repository(tmp_path)
    sql = root / "deploy/postgres-init.sql"
    sql.write_text(sql.read_text().replace("-- <<< render roles", ""))
    with pytest.raises(RenderError, match="`>>> render roles` is never closed"):
        render(root)
    sql.write_text(sql.read_text().replace("render roles", "render rolls"))
    with pytest.raises(RenderError, match="no markers for roles"):
        render(root)


def test_a_new_service_gets_its_compose_service(with_reviews):
    compose = yaml.safe_load((with_reviews / "docker-compose.yml").read_text())
    services = compose["services"]
    reviews = services["reviews"]
    assert reviews["command"] == ["reviews"]
    assert "exec python -m common.runtime.entrypoint" in " ".join(reviews["entrypoint"])
    assert reviews["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "127.0.0.1:8004/ready" in " ".join(reviews["healthcheck"]["test"])
    env = reviews["environment"]
    assert env["PORT"] == "8004"
    assert env["DJANGO_SETTINGS_MODULE"] == "review_service.settings"
    assert env["GATEWAY_INTERNAL_URL"] == "http://gateway:8000"
    assert env["SECRET_KEY"] == "${REVIEWS_SECRET_KEY:?set REVIEWS_SECRET_KEY in .env}"
    assert env["SERVICE_TOKEN"] == "${REVIEWS_SERVICE_TOKEN:?set REVIEWS_SERVICE_TOKEN in .env}"
    assert env["SERVICE_TOKENS"] == "reviews=${REVIEWS_SERVICE_TOKEN}"
    url = "postgres://reviews:${REVIEWS_DB_PASSWORD}@postgres:5432/reviews"
    assert env["REVIEWS_DATABASE_URL"] == url
    assert env["REVIEWS_SERVICE_URL"] == "http://reviews:8004"  # x-env: every project's
    gateway = services["gateway"]
    assert gateway["environment"]["REVIEWS_SERVICE_URL"] == "dns+http://reviews:8004"
    assert gateway["depends_on"]["reviews"] == {"condition": "service_healthy"}
    migrate = services["migrate"]
    assert "order_service review_service gateway_project;" in migrate["command"][0]
    assert migrate["environment"]["REVIEWS_DATABASE_URL"] == url
    assert "REVIEWS_SECRET_KEY" in migrate["environment"]
    assert services["postgres"]["environment"]["REVIEWS_DB_PASSWORD"].startswith(
        "${REVIEWS_DB_PASSWORD:?"
    )
    # What the others had before is untouched, the new URL in x-env aside.
    before = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    del services["orders"]["environment"]["REVIEWS_SERVICE_URL"]
    assert services["orders"] == before["orders"]


def test_a_new_service_gets_its_kubernetes_objects(with_reviews):
    base = kustomize(with_reviews / "deploy/k8s/base")
    kinds: dict[str, dict[str, dict]] = {}
    for obj in base:
        kinds.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    (container,) = pod_spec(kinds["Deployment"]["reviews"])["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert container["args"] == ["reviews"]
    assert env["PORT"] == "8004"
    assert env["DJANGO_SETTINGS_MODULE"] == "review_service.settings"
    assert {"reviews", "reviews-headless"} <= set(kinds["Service"])
    assert "reviews" in kinds["PodDisruptionBudget"]
    secret = kinds["Secret"]["django-api-gateway"]["stringData"]
    for key in ("SECRET_KEY", "DATABASE_URL", "SERVICE_TOKEN", "SERVICE_TOKEN_ACCEPTED"):
        assert f"REVIEWS_{key}" in secret
    assert kinds["ConfigMap"]["django-api-gateway"]["data"]["REVIEWS_SERVICE_URL"] == (
        "http://reviews:8004"
    )
    (gateway,) = pod_spec(kinds["Deployment"]["gateway"])["containers"]
    gateway_env = {e["name"]: e.get("value") for e in gateway["env"]}
    assert gateway_env["REVIEWS_SERVICE_URL"] == "dns+http://reviews-headless:8004"
    (migrate,) = pod_spec(kinds["Job"]["migrate"])["containers"]
    assert "review_service gateway_project;" in migrate["command"][-1]
    assert "REVIEWS_DATABASE_URL" in {e["name"] for e in migrate["env"]}
    policies = kinds["NetworkPolicy"]
    assert {"reviews-ingress", "reviews-egress"} <= set(policies)
    reached = {
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for rule in policies["gateway-egress"]["spec"]["egress"]
        for peer in rule["to"]
    }
    assert "reviews" in reached
    (selector,) = policies["database-egress"]["spec"]["podSelector"]["matchExpressions"]
    assert "reviews" in selector["values"]


def test_a_new_service_is_scraped_watched_shipped_configured_and_given_a_role(with_reviews):
    monitoring = with_reviews / "deploy/monitoring"
    prometheus = yaml.safe_load((monitoring / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["reviews"]["dns_sd_configs"] == [
        {"names": ["reviews"], "type": "A", "port": 8004, "refresh_interval": "30s"}
    ]
    assert (
        'up{job=~"gateway|users|products|orders|reviews"} == 0'
        in (monitoring / "alerts.yml").read_text()
    )
    assert '"gateway|users|products|orders|reviews"' in (monitoring / "config.alloy").read_text()
    example = (with_reviews / ".env.example").read_text().splitlines()
    for line in (
        "REVIEWS_SECRET_KEY=",
        "REVIEWS_DATABASE_URL=",
        "REVIEWS_SERVICE_URL=http://127.0.0.1:8004",
        "REVIEWS_SERVICE_TOKEN=",
        "REVIEWS_SERVICE_TOKEN_ACCEPTED=",
        "REVIEWS_DB_PASSWORD=",
    ):
        assert line in example
    sql = (with_reviews / "deploy/postgres-init.sql").read_text()
    assert "\\getenv reviews_password REVIEWS_DB_PASSWORD\n" in sql
    assert "CREATE DATABASE reviews OWNER reviews;" in sql
    assert sql.index("CREATE DATABASE reviews") < sql.index("CREATE DATABASE gateway")


def test_a_new_service_is_in_the_image_and_the_import_contracts(with_reviews):
    dockerfile = (with_reviews / "Dockerfile").read_text()
    assert dockerfile.count("\nCOPY review_service ./review_service\n") == 2
    assert "order_service review_service; do" in dockerfile
    section = tomllib.loads((with_reviews / "pyproject.toml").read_text())["tool"]
    assert section["importlinter"]["root_packages"][-1] == "review_service"
    contracts = section["importlinter"]["contracts"]
    assert all(
        c.get("modules", c.get("forbidden_modules"))[-1] == "review_service"
        for c in contracts
        if c["type"] == "independence" or c.get("source_modules") in (["common"], ["devtools"])
    )
    assert section["coverage"]["run"]["source"][-1] == "review_service"
