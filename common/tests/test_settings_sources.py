"""Each environment variable is read in one place, and only settings modules read any.

The production source (not tests, not scripts/) is scanned with `ast` for reads:
os.environ.get/[...]/setdefault (when its value is used), os.getenv, `"X" in os.environ`,
django-environ's `env.<type>("X")`, common.settings.env's `secret("X")` / `pem_value("X")`
(and server_env's `_int("X", ...)`),
and the variables a settings namespace declares (`setting(..., env="X")`,
common.settings.namespaces).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from common.settings.env import REPO_ROOT

# Where the environment may be read at all: settings modules (through common.settings.env and
# the namespaces of common.settings.namespaces), the server's variables, the launcher's,
# OpenTelemetry's.
READERS = {
    "common/settings/env.py",
    "common/settings/namespaces.py",
    "common/settings/base.py",
    "common/settings/server_env.py",
    # OTEL_EXPORTER_OTLP_ENDPOINT: the exporter reads it (and more) too
    "common/observability/tracing.py",
    "gateway_project/conf.py",
    "gateway_project/settings.py",
    "order_service/settings.py",
    "product_service/settings.py",
    "user_service/settings.py",
    "devtools/launcher/console.py",  # NO_COLOR
    "devtools/launcher/plan.py",  # <NAME>_PORT
}
# A variable two modules read, each with its reason (keep this short).
SHARED: dict[str, set[str]] = {}
# Readers whose first argument is the variable: common.settings.env's and
# common.settings.server_env's.
NAMED_READERS = {"secret", "pem_value", "_int", "_seconds"}
# django-environ's typed reads (a local dict named `env`, as the launcher has, is not one).
ENV_METHODS = {"str", "int", "float", "bool", "list", "tuple", "dict", "json", "url", "db_url"}


def production_sources() -> list[Path]:
    skipped = {".venv", "var", "tests", "scripts", "migrations", ".git", "node_modules"}
    return sorted(
        path
        for path in REPO_ROOT.rglob("*.py")
        if not skipped & set(path.relative_to(REPO_ROOT).parts)
        and path.name not in ("conftest.py", "testing.py", "pytest_plugin.py", "harness.py")
    )


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def variables_read(source: str) -> set[str]:
    """The environment variables one module's source reads, by name."""
    tree = ast.parse(source)
    statements = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            if isinstance(node.ctx, ast.Load):
                found.add(_literal(node.slice))
        elif isinstance(node, ast.Compare) and any(_is_os_environ(c) for c in node.comparators):
            found.add(_literal(node.left))
        elif isinstance(node, ast.Call):
            func, first = node.func, node.args[0] if node.args else None
            if isinstance(func, ast.Attribute):
                owner = func.value
                if _is_os_environ(owner) and func.attr == "get":
                    found.add(_literal(first))
                elif _is_os_environ(owner) and func.attr == "setdefault":
                    if id(node) not in statements:  # a bare setdefault gives children a value
                        found.add(_literal(first))
                elif isinstance(owner, ast.Name) and owner.id == "os" and func.attr == "getenv":
                    found.add(_literal(first))
                elif isinstance(owner, ast.Name) and owner.id == "env" and func.attr in ENV_METHODS:
                    found.add(_literal(first))  # django-environ: env.str("X"), env.int("X")
            elif isinstance(func, ast.Name):
                if func.id in NAMED_READERS or func.id == "env":
                    found.add(_literal(first))
                elif func.id == "setting":  # a namespace field: env="X" or env={...: "X"}
                    for keyword in node.keywords:
                        if keyword.arg != "env":
                            continue
                        if isinstance(keyword.value, ast.Dict):
                            found.update(_literal(value) for value in keyword.value.values)
                        else:
                            found.add(_literal(keyword.value))
    found.discard(None)
    found.discard("")
    return found  # type: ignore[return-value]


def readers_by_variable() -> dict[str, set[str]]:
    readers: dict[str, set[str]] = defaultdict(set)
    for path in production_sources():
        for variable in variables_read(path.read_text()):
            readers[variable].add(path.relative_to(REPO_ROOT).as_posix())
    return readers


def test_no_environment_variable_is_read_in_two_modules():
    twice = {
        variable: sorted(modules)
        for variable, modules in readers_by_variable().items()
        if len(modules) > 1 and SHARED.get(variable) != modules
    }
    assert twice == {}


def test_only_settings_modules_read_the_environment():
    modules = set().union(*readers_by_variable().values())
    assert modules - READERS == set()


def test_the_scan_finds_each_kind_of_read():
    readers = readers_by_variable()
    assert readers["HTTP_READ_TIMEOUT"] == {"common/settings/namespaces.py"}  # a namespace field
    assert readers["GATEWAY_RATE_ANON"] == {"gateway_project/conf.py"}  # one key of a field
    assert readers["WEB_THREADS"] == {"common/settings/server_env.py"}
    assert readers["SERVICE_TOKEN"] == {"common/settings/base.py"}  # secret("SERVICE_TOKEN")
    assert readers["USERS_RATE_LOGIN"] == {"user_service/settings.py"}
    assert readers["NO_COLOR"] == {"devtools/launcher/console.py"}


@pytest.mark.parametrize(
    ("source", "variables"),
    [
        ('import os\nos.environ.get("A")\nos.getenv("B")\nx = os.environ["C"]', {"A", "B", "C"}),
        ('import os\nif "A" in os.environ: pass\nos.environ["B"] = "1"', {"A"}),
        ('import os\nos.environ.setdefault("A", "1")\nx = os.environ.setdefault("B", "")', {"B"}),
        ('env.str("A", default="")\nenv.list("B")\nsecret("C", dev_name="c")', {"A", "B", "C"}),
        ('env = dict(os.environ)\nenv.setdefault("A", "1")\n_int("B", 2)', {"B"}),
        ('X: float = setting(1.0, float, env="A")\nY = setting({}, f, env={"k": "B"})', {"A", "B"}),
    ],
)
def test_the_scan_reads_each_form(source, variables):
    assert variables_read(source) == variables
