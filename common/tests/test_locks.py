"""The two locks against the code: requirements.txt holds what the four projects import at
run time and nothing only the tests need; requirements-dev.txt pins every one of those at
the same version, plus the tests' tools (README, "Dependencies").

What the projects import comes from the code itself, two ways: their import statements and
the dotted names their settings hand to Django (INSTALLED_APPS, MIDDLEWARE, backends) or
their entrypoint runs (`python -m granian`), read from the source; and, for each project,
a process that loads its settings with a PostgreSQL database and a Redis cache configured
(nothing connects), imports every one of its modules, builds its middleware and URLs and
hashes a password, then names the distribution of every module it loaded. No network.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from common.topology import SERVICES

REPO = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = REPO / "requirements.txt"
DEV_LOCK = REPO / "requirements-dev.txt"
PROJECT_PACKAGES = ("common", *(service.package for service in SERVICES.values()))
# Code that runs only under pytest or manage_all.py (which is standard library only).
NOT_RUNTIME = ("devtools/launcher/", "devtools/pytest_plugin.py", "common/testing.py")
# What `python -m venv` puts in every venv (setuptools' .pth loads a module of its own).
VENV_OWN = {"pip", "setuptools", "wheel"}
DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """ "psycopg[binary]>=3.2" -> "psycopg"."""
    return normalized(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])


def parse_lock(path: Path) -> dict[str, str]:
    """{normalized name: version} of a `uv pip compile --generate-hashes` lock; every
    entry must carry hashes."""
    pins: dict[str, str] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    for entry in entries:
        if entry.startswith("#"):
            continue
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._\-]*)(\[[^\]]*\])?==([^\s;\\]+)", entry)
        assert match, f"{path.name}: not an exact pin: {entry.splitlines()[0]!r}"
        assert "--hash=sha256:" in entry, f"{path.name}: {match[1]} has no hash"
        pins[normalized(match[1])] = match[3]
    return pins


def runtime_files() -> list[Path]:
    files = []
    for package in PROJECT_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if "/tests/" in relative or relative.startswith(NOT_RUNTIME):
                continue
            files.append(path)
    return files


def third_party(top: str) -> bool:
    return top not in sys.stdlib_module_names and top not in PROJECT_PACKAGES


def named_in_source() -> dict[str, set[str]]:
    """{top-level module: files} for every third-party module the runtime code imports, or
    names as a dotted string (an app, a middleware, a backend, `-m granian`)."""
    importable = set(importlib.metadata.packages_distributions())
    found: dict[str, set[str]] = {}
    for path in runtime_files():
        relative = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(), relative)
        # Names handed on: items of a list, tuple or set (apps, middleware, argv) and
        # values of a dict (backends); not dict keys or other strings that merely spell one.
        handed = {
            id(value)
            for node in ast.walk(tree)
            for value in (
                node.elts
                if isinstance(node, ast.List | ast.Tuple | ast.Set)
                else node.values
                if isinstance(node, ast.Dict)
                else ()
            )
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Constant) and id(node) in handed:
                value = node.value if isinstance(node.value, str) else ""
                named = DOTTED.fullmatch(value) and value.split(".")[0] in importable
                names = [value] if named else []
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if third_party(top):
                    found.setdefault(top, set()).add(relative)
    return found


# Run in a fresh interpreter per project: load the settings, import the project's and
# common's runtime modules, build what a request and a login use, report what was loaded.
LOADER = r"""
import importlib, json, sys


class OnlyTheRuntimeLock:
    # As in a venv of the runtime lock alone: what only the dev lock brings is not there.
    def find_spec(self, name, path=None, target=None):
        if name in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in requirements.txt)")


BLOCKED = set(json.loads(sys.argv[2]))
sys.meta_path.insert(0, OnlyTheRuntimeLock())
import django
django.setup()
from django.contrib.auth.hashers import make_password
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.urls import get_resolver
failed = {}
for module in json.loads(sys.argv[1]):
    try:
        importlib.import_module(module)
    except Exception as error:
        failed[module] = repr(error)
WSGIHandler()
get_resolver().url_patterns
connections["default"].ensure_timezone  # the database backend's module, no connection
caches["default"]  # the cache backend's module, no connection
make_password("not a real password")
files = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})
print(json.dumps({"failed": failed, "files": [f for f in files if f]}))
"""


@cache
def loaded_distributions() -> dict[str, set[str]]:
    """{distribution: projects} of every module each project's process loaded, where the
    top-level modules of what only the dev lock installs are not importable."""
    runtime = set(parse_lock(RUNTIME_LOCK)) | VENV_OWN
    blocked = sorted(
        top
        for top, dists in importlib.metadata.packages_distributions().items()
        if not {normalized(d) for d in dists} & runtime
    )
    owner: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            if file.suffix in (".py", ".so", ".pyd"):
                owner[str(Path(dist.locate_file(file)).resolve())] = normalized(dist.name)
    processes = {}
    for service in SERVICES.values():
        modules = [
            ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            for path in runtime_files()
            if path.relative_to(REPO).parts[0] in ("common", service.package)
        ]
        env = {
            "PATH": "/usr/bin:/bin",
            "APP_ENV": "development",
            "VAR_DIR": str(REPO / "var" / "test" / "locks"),
            "DJANGO_SETTINGS_MODULE": service.settings_module,
            "SERVICE_NAME": service.name,
            service.database_url_var: "postgres://nobody@127.0.0.1:1/nothing",
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
        command = [sys.executable, "-c", LOADER, json.dumps(modules), json.dumps(blocked)]
        processes[service.name] = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    loaded: dict[str, set[str]] = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, f"{name}:\n{stderr[-3000:]}"
        report = json.loads(stdout.splitlines()[-1])
        assert report["failed"] == {}, f"{name}: modules that do not import"
        for file in report["files"]:
            dist = owner.get(str(Path(file).resolve()))
            if dist is not None and dist not in VENV_OWN:
                loaded.setdefault(dist, set()).add(name)
    return loaded


def distributions_of(top: str) -> set[str]:
    return {normalized(d) for d in importlib.metadata.packages_distributions().get(top, [])}


def test_both_locks_pin_every_package_exactly_with_hashes():
    assert parse_lock(RUNTIME_LOCK)
    assert parse_lock(DEV_LOCK)


def test_every_module_the_projects_import_is_in_the_runtime_lock():
    runtime = parse_lock(RUNTIME_LOCK)
    missing = {
        top: sorted(files)
        for top, files in named_in_source().items()
        if not distributions_of(top) & set(runtime)
    }
    assert missing == {}, "imported at run time, not in requirements.txt"
    outside = {d: p for d, p in loaded_distributions().items() if d not in runtime}
    assert outside == {}, "loaded by a project's process, not in requirements.txt"


def test_the_runtime_lock_holds_nothing_only_the_tests_need():
    """Each direct runtime dependency is used by the projects (imported, named in their
    settings, or loaded by their process); the rest of the lock is what those require
    (uv compiles it from them alone); no dev tool is in it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    direct = {requirement_name(d) for d in project["dependencies"]}
    used = set(loaded_distributions())
    for top in named_in_source():
        used |= distributions_of(top)
    assert direct - used == set(), "declared in [project.dependencies], used by no project"
    runtime = parse_lock(RUNTIME_LOCK)
    header = RUNTIME_LOCK.read_text().split("\n", 3)[1]
    assert "uv pip compile pyproject.toml" in header
    assert "--extra" not in header
    dev_tools = {requirement_name(d) for d in project["optional-dependencies"]["dev"]}
    assert {d for d in dev_tools & set(runtime) if d not in used} == set()


def test_the_dev_lock_pins_every_runtime_package_at_the_same_version():
    runtime, dev = parse_lock(RUNTIME_LOCK), parse_lock(DEV_LOCK)
    assert {name: (version, dev.get(name)) for name, version in runtime.items()} == {
        name: (version, version) for name, version in runtime.items()
    }
    assert len(dev) > len(runtime)
    header = DEV_LOCK.read_text().split("\n", 3)[1]
    assert "--extra dev -c requirements.txt" in header


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_each_lock_names_the_command_that_regenerates_it(lock):
    header = lock.read_text().splitlines()[:2]
    assert header[0] == "# This file was autogenerated by uv via the following command:"
    assert "--generate-hashes" in header[1]
    assert header[1].endswith(f"-o {lock.name}")
    assert header[1].removeprefix("#").strip() in (REPO / "README.md").read_text()
