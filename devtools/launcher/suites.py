"""`manage_all.py test`: the checks, then one pytest session per project (each with its own
settings), the shared package's and the end-to-end tests, and a table of the results.

With `--coverage` every pytest session runs under `coverage run` (the processes the tests
start are measured too: pyproject.toml's [tool.coverage.run]); the data is combined, each
project's figure printed, and the run fails under [tool.coverage.report] fail_under.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from common.topology import SERVICES, Service
from devtools.launcher.console import fail, paint
from devtools.launcher.plan import Registry, project_env, pytest_suites
from devtools.launcher.venv import REPO, VENV, ensure_venv

PYTEST_SUITES = pytest_suites()
# Where `--coverage` keeps its data (one file per process measured, combined at the end
# into .coverage) and the JSON report; pyproject.toml's [tool.coverage.run] data_file.
COVERAGE_DIR = REPO / "var" / "coverage"
COVERAGE_DATA = COVERAGE_DIR / ".coverage"
COVERAGE_JSON = COVERAGE_DIR / "coverage.json"


MONITORING_RULES = "deploy/monitoring/alerts.yml"
MONITORING_RULE_TESTS = "deploy/monitoring/alerts.test.yml"


@dataclass
class SuiteResult:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    note: str = ""


def check_commands(services: Registry = SERVICES) -> list[tuple[str, list[str], dict[str, str]]]:
    """(label, command, extra environment) of every check: lint, formatting, import
    boundaries, and each project's types, migrations and OpenAPI schema."""
    checks: list[tuple[str, list[str], dict[str, str]]] = [
        ("ruff check", [sys.executable, "-m", "ruff", "check", "."], {}),
        ("ruff format --check", [sys.executable, "-m", "ruff", "format", "--check", "."], {}),
        ("import contracts", [str(VENV / "bin" / "lint-imports")], {}),
        *deployment_linters(),
    ]
    for service in services.values():
        env = {
            "DJANGO_SETTINGS_MODULE": service.settings_module,
            "VAR_DIR": str(REPO / "var" / "test"),
        }
        django = [sys.executable, "-m", "django"]
        checks.append((f"{service.name}: mypy", mypy_command(service), env))
        checks.append(
            (
                f"{service.name}: makemigrations --check",
                [*django, "makemigrations", "--check", "--dry-run"],
                env,
            )
        )
        checks.append(
            (
                f"{service.name}: OpenAPI schema valid",
                [*django, "spectacular", "--validate", "--fail-on-warn", "--file", os.devnull],
                env,
            )
        )
    return checks


# Where each project's mypy run keeps its cache: one per run, as each loads other settings.
MYPY_CACHE = REPO / "var" / "mypy_cache"


def mypy_packages(service: Service) -> list[str]:
    """What a project's mypy run checks: its package; the gateway's run checks common too
    (each run follows the imports into common, under the run's settings)."""
    return ["common", service.package] if service.is_gateway else [service.package]


def mypy_command(service: Service) -> list[str]:
    """mypy over the project under its own settings (pyproject.toml's [tool.mypy]: strict
    on common and the gateway, the default mode on the services)."""
    cache = MYPY_CACHE / service.name
    return [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *mypy_packages(service)]


def tool(name: str) -> str | None:
    """A command-line tool: the virtualenv's (the dev lock's), else PATH's, else None."""
    beside = VENV / "bin" / name
    return str(beside) if beside.exists() else shutil.which(name)


# The deployment files through their ecosystem's own linters: (label, tool, arguments).
# promtool comes from Debian's prometheus package (deploy/ci-tools.sh), kubectl from the
# machine's packages, the rest from the dev lock.
DEPLOYMENT_LINTERS = (
    (
        "compose file against the compose specification",
        "check-jsonschema",
        ["--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
    ),
    ("Dockerfile through hadolint", "hadolint", ["--failure-threshold", "info", "Dockerfile"]),
    (
        "YAML through yamllint",
        "yamllint",
        ["--strict", "-c", "deploy/yamllint.yml", "docker-compose.yml", "deploy"],
    ),
    ("alert rules through promtool", "promtool", ["check", "rules", MONITORING_RULES]),
    ("alert rules' unit tests", "promtool", ["test", "rules", MONITORING_RULE_TESTS]),
)


# What needs rendering first: (label, arguments of this Python). The committed files
# against what `manage_all.py render` writes from the registry (stale ones fail, named);
# the kustomizations rendered by kubectl and validated, prometheus.yml beside its rule
# files (devtools/launcher/rendered_checks.py, which says so when a tool is missing).
RENDERED_CHECKS = (
    (
        "deployment files as manage_all.py render writes them",
        ["manage_all.py", "render", "--check"],
    ),
    (
        "Kubernetes manifests (kubectl kustomize) through kubernetes-validate",
        ["-m", "devtools.launcher.rendered_checks", "kubernetes"],
    ),
    (
        "Prometheus config beside its rules through promtool",
        ["-m", "devtools.launcher.rendered_checks", "prometheus"],
    ),
)


def deployment_linters() -> list[tuple[str, list[str], dict[str, str]]]:
    """The linters as checks; one whose tool is missing is a command that says so. Then
    the checks of rendered files."""
    checks = []
    for label, name, arguments in DEPLOYMENT_LINTERS:
        found = tool(name)
        if found is None:
            missing = f"{name} is not installed (deploy/ci-tools.sh or the dev lock installs it)"
            checks.append((label, [sys.executable, "-c", f"raise SystemExit({missing!r})"], {}))
        else:
            checks.append((label, [found, *arguments], {}))
    checks += [(label, [sys.executable, *arguments], {}) for label, arguments in RENDERED_CHECKS]
    return checks


def run_checks() -> SuiteResult:
    """Lint, formatting, import boundaries, types, migrations and OpenAPI schemas."""
    result = SuiteResult("checks")
    started = time.monotonic()
    for label, command, extra in check_commands():
        outcome = subprocess.run(
            command, cwd=REPO, env=project_env(**extra), capture_output=True, text=True, check=False
        )
        if outcome.returncode == 0:
            result.passed += 1
            print(f"  ok    {label}", flush=True)
        else:
            result.failed += 1
            print(f"  FAIL  {label}\n{outcome.stdout}{outcome.stderr}", flush=True)
    result.seconds = time.monotonic() - started
    return result


def _count_junit(result: SuiteResult, report_path: os.PathLike) -> None:
    root = ET.parse(report_path).getroot()
    for suite in root.iter("testsuite"):
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        result.failed += failed
        result.skipped += skipped
        result.passed += tests - failed - skipped


def run_pytest_suite(name: str, extra: list[str], coverage: bool = False) -> SuiteResult:
    settings_module, path = PYTEST_SUITES[name]
    reports = REPO / "var" / "test-reports"
    reports.mkdir(parents=True, exist_ok=True)
    report = reports / f"{name}.xml"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", path, "-q", f"--junitxml={report}"]
    command += ["--ds", settings_module] if settings_module else ["-p", "no:django"]
    env = project_env(VAR_DIR=str(REPO / "var" / "test" / name))
    if coverage:
        # `coverage run -m pytest`; each process's data file is named after the suite.
        command[1:3] = ["-m", "coverage", "run", "-m", "pytest"]
        env["COVERAGE_FILE"] = f"{COVERAGE_DATA}.{name}"
    started = time.monotonic()
    print(paint(f"== {name}: {' '.join(command[2:])}", "1"), flush=True)
    code = subprocess.run([*command, *extra], cwd=REPO, env=env, check=False).returncode
    result = SuiteResult(name, seconds=time.monotonic() - started)
    if report.exists():
        _count_junit(result, report)
    if code == 5:
        result.note = "no tests ran"
        result.failed += 1
    elif code != 0 and result.failed == 0:
        result.note = f"pytest exited {code}"
        result.failed += 1
    return result


def project_coverage(report: dict) -> dict[str, tuple[int, int]]:
    """{top-level package: (statements, statements run)} from `coverage json`'s report,
    in the order the files came."""
    projects: dict[str, tuple[int, int]] = {}
    for path, entry in report["files"].items():
        package = path.replace(os.sep, "/").split("/", 1)[0]
        statements, run = projects.get(package, (0, 0))
        summary = entry["summary"]
        projects[package] = (
            statements + summary["num_statements"],
            run + summary["covered_lines"],
        )
    return projects


def coverage_table(report: dict) -> list[str]:
    """Each project's line coverage, then the total (what fail_under is held against)."""

    def row(name: str, statements: int, run: int) -> str:
        share = 100.0 * run / statements if statements else 100.0
        return f"{name:16} {statements:10} {statements - run:7} {share:6.1f}%"

    lines = [f"{'coverage':16} {'statements':>10} {'missed':>7} {'cover':>7}"]
    lines += [row(name, *counts) for name, counts in project_coverage(report).items()]
    totals = report["totals"]
    lines.append(row("total", totals["num_statements"], totals["covered_lines"]))
    return lines


def report_coverage(enforce: bool) -> SuiteResult:
    """Combine every process's data, print each project's figure and the total; with
    ENFORCE (every suite ran), coverage itself fails the run under fail_under."""
    result = SuiteResult("coverage")
    started = time.monotonic()
    print(paint("== coverage: combine, report", "1"), flush=True)
    coverage = [sys.executable, "-m", "coverage"]
    data = f"--data-file={COVERAGE_DATA}"
    combined = subprocess.run(
        [*coverage, "combine", "--quiet", data, str(COVERAGE_DIR)], cwd=REPO, check=False
    )
    if combined.returncode != 0:
        result.failed, result.note = 1, "no data combined"
        return result
    report = [*coverage, "json", "--quiet", data, "-o", str(COVERAGE_JSON)]
    if not enforce:
        report.append("--fail-under=0")
    code = subprocess.run(report, cwd=REPO, check=False).returncode
    if COVERAGE_JSON.exists():
        print("\n".join(coverage_table(json.loads(COVERAGE_JSON.read_text()))))
        print(f"per file: .venv/bin/coverage report --skip-covered  (data: {COVERAGE_DATA})")
    result.seconds = time.monotonic() - started
    if code == 0:
        result.passed = 1
        result.note = "" if enforce else "floor not applied: not every suite ran"
    else:
        result.failed = 1
        result.note = "under fail_under" if code == 2 else f"coverage exited {code}"
    return result


def command_test(args: argparse.Namespace) -> int:
    ensure_venv(dev=True)
    names = args.suites or ["checks", *PYTEST_SUITES]
    unknown = [n for n in names if n != "checks" and n not in PYTEST_SUITES]
    if unknown:
        fail(f"unknown suite {', '.join(unknown)}; choose from checks, {', '.join(PYTEST_SUITES)}")
    if args.coverage:
        shutil.rmtree(COVERAGE_DIR, ignore_errors=True)  # no data from an earlier run
        COVERAGE_DIR.mkdir(parents=True)
    results = []
    for name in names:
        if name == "checks":
            print(paint("== checks", "1"), flush=True)
            results.append(run_checks())
        else:
            results.append(run_pytest_suite(name, args.pytest_args, args.coverage))
    if args.coverage:
        every_suite = set(PYTEST_SUITES) <= set(names) and not args.pytest_args
        results.append(report_coverage(enforce=every_suite))
    print()
    print(paint(f"{'suite':10} {'passed':>7} {'failed':>7} {'skipped':>8} {'seconds':>8}", "1"))
    for r in results:
        line = f"{r.name:10} {r.passed:7} {r.failed:7} {r.skipped:8} {r.seconds:8.1f}"
        print(paint(line, "31") if r.failed else line, r.note)
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 1 if failed else 0
