"""Every route in the gateway's table is served by the service it names.

The gateway forwards a route's path unchanged, so the service must resolve it: for each
route, example paths (an integer or a UUID for each one-segment parameter, an admin page
or a static file for the prefix routes) are resolved in the service's own process, with
its settings and URLconf; one must resolve, to a view answering every method the route
forwards. Without this, a
route no service serves is noticed only as a 404 "No resource at ..." in production.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from common.topology import SERVICES, UPSTREAMS
from devtools.harness import REPO_ROOT

ROUTE_TABLE = """
import json, django
django.setup()
from gateway_project.routing.table import routes
print(json.dumps([[r.path, r.service, sorted(r.methods)] for r in routes()]))
"""

# Reads [path, ...] on stdin; prints, per path, how the project serves it: null when it
# does not, else the view and the methods it answers (null: any, as the admin's pages).
RESOLVE = """
import json, sys, django
django.setup()
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import Resolver404, get_resolver
from common.identity.admin_mount import admin_prefix, mounted_urlconf

def served(path):
    if path.startswith(settings.STATIC_URL):
        found = finders.find(path[len(settings.STATIC_URL):])
        return {"view": "static files", "methods": ["GET"]} if found else None
    prefix = admin_prefix()
    mounted = prefix and path.startswith(prefix)
    urlconf = mounted_urlconf(settings.ROOT_URLCONF, prefix) if mounted else None
    try:
        match = get_resolver(urlconf).resolve(path)
    except Resolver404:
        return None
    if match.func.__name__ == "catch_all_view":  # the admin's "no such page"
        return None
    view = getattr(match.func, "cls", None)
    actions = getattr(match.func, "actions", None)
    if actions:
        methods = sorted(m.upper() for m in actions)
    elif view is not None:
        methods = sorted(m.upper() for m in view.http_method_names if hasattr(view, m))
    else:
        methods = None
    return {"view": match.view_name or match.func.__name__, "methods": methods}

print(json.dumps({path: served(path) for path in json.load(sys.stdin)}))
"""


def in_project(package: str, script: str, tmp_path, stdin: str = "") -> object:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        APP_ENV="development",
        VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE=f"{package}.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# What a one-segment parameter stands for at the services: an integer or a UUID id.
SEGMENT_EXAMPLES = ("1", "0b9a3e2c-5d4f-4c1a-9e8b-7f6a5d4c3b2a")


def example_paths(pattern: str) -> list[str]:
    """Paths the route matches: `products/<segment:id>` -> `/products/1`, `/products/<uuid>`."""
    rest = "admin/css/base.css" if pattern.startswith("static/") else "login/"
    path = re.sub(r"<(?:subpath|path):\w+>", rest, pattern)
    return list(dict.fromkeys("/" + re.sub(r"<(?:\w+:)?\w+>", x, path) for x in SEGMENT_EXAMPLES))


@pytest.fixture(scope="module")
def route_table(tmp_path_factory) -> list[tuple[str, str, list[str]]]:
    tmp = tmp_path_factory.mktemp("routes")
    return [tuple(r) for r in in_project(SERVICES["gateway"].package, ROUTE_TABLE, tmp)]


@pytest.fixture(scope="module")
def serving(route_table, tmp_path_factory) -> dict[str, dict[str, dict | None]]:
    """Per service: how it serves each route's example path, and a path it has not."""
    tmp = tmp_path_factory.mktemp("resolve")
    answers = {}
    for name in UPSTREAMS:
        paths = [x for p, service, _ in route_table if service == name for x in example_paths(p)]
        paths.append(f"/{name}/1/no-such-page")
        answers[name] = in_project(SERVICES[name].package, RESOLVE, tmp, json.dumps(paths))
    return answers


def test_the_route_table_names_only_registry_services_and_every_one_of_them(route_table):
    assert {service for _, service, _ in route_table} == set(UPSTREAMS)


def test_example_paths_match_their_patterns():
    assert example_paths("orders/<segment:id>/cancel") == [
        "/orders/1/cancel",
        f"/orders/{SEGMENT_EXAMPLES[1]}/cancel",
    ]
    assert example_paths("admin/users/<subpath:rest>") == ["/admin/users/login/"]
    assert example_paths("static/orders/<subpath:rest>") == ["/static/orders/admin/css/base.css"]


def test_every_route_resolves_at_its_service_for_every_method_it_forwards(route_table, serving):
    unserved = []
    for pattern, service, methods in route_table:
        paths = example_paths(pattern)
        served = [(path, serving[service][path]) for path in paths if serving[service][path]]
        if not served:
            unserved.append(f"{service} has no view at {' or '.join(paths)} (route {pattern!r})")
            continue
        path, answer = served[0]
        if answer["methods"] is not None and not set(methods) <= set(answer["methods"]):
            missing = sorted(set(methods) - set(answer["methods"]))
            unserved.append(f"{service} {answer['view']} does not answer {missing} at {path}")
    assert unserved == []


def test_a_path_no_service_serves_is_told_apart(serving):
    """The check can fail: a path outside every URLconf resolves nowhere."""
    for name in UPSTREAMS:
        assert serving[name][f"/{name}/1/no-such-page"] is None
