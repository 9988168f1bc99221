"""`manage_all.py test --coverage` measures the servers the tests start, not only the pytest
process: pyproject.toml's [tool.coverage.run] starts coverage in every Python process (its
.pth file, from the configuration `patch = subprocess` hands on), saves before the
entrypoint execs the server, restarts in each forked worker and saves when one exits
(gunicorn's by sys.exit, granian's multiprocessing workers by os._exit)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from coverage import Coverage, CoverageData

from devtools.harness import REPO_ROOT, http, start_stack

pytestmark = pytest.mark.e2e

VIEWS = REPO_ROOT / "product_service" / "catalog" / "views.py"


def _first_line_of(path: Path, cls: str, method: str) -> int:
    tree = ast.parse(path.read_text())
    [body] = [
        node.body[0].lineno
        for klass in tree.body
        if isinstance(klass, ast.ClassDef) and klass.name == cls
        for node in klass.body
        if isinstance(node, ast.FunctionDef) and node.name == method
    ]
    return body


def _measured_env(data_file: Path) -> dict[str, str]:
    """What a measured run hands a child: the project's coverage configuration, data here."""
    config = Coverage(config_file=str(REPO_ROOT / "pyproject.toml"), data_file=str(data_file))
    return {"COVERAGE_PROCESS_CONFIG": config.config.serialize()}


def _lines_by_pid(directory: Path, source: Path) -> dict[int, set[int]]:
    """{pid: lines of SOURCE run} from each process's data file."""
    found = {}
    for path in directory.glob(".coverage.*"):
        data = CoverageData(str(path))
        data.read()
        pid = int(re.search(r"\.pid(\d+)\.", path.name).group(1))
        found[pid] = found.get(pid, set()) | set(data.lines(str(source)) or ())
    return found


def _measured_stack(tmp_path: Path, server: str) -> tuple[Path, int]:
    """The product service under SERVER, measured, two workers, asked for products, stopped:
    (its data directory, the server master's pid)."""
    data = tmp_path / "coverage" / ".coverage"
    env = {**_measured_env(data), "WEB_SERVER": server, "WEB_CONCURRENCY": "2"}
    stack = start_stack(tmp_path / "stack", ["products"], env=env)
    master = stack["products"].process.pid  # the entrypoint, then (exec) the server
    try:
        for _ in range(6):
            status, _, _ = http("GET", f"{stack['products'].url}/products")
            assert status == 200
    finally:
        stack.stop()
    return data.parent, master


def test_gunicorn_workers_are_measured_and_save_when_they_stop(tmp_path):
    directory, master = _measured_stack(tmp_path, "gunicorn")
    view = _first_line_of(VIEWS, "ProductViewSet", "get_queryset")  # runs per request only
    by_pid = _lines_by_pid(directory, VIEWS)
    assert master in by_pid, f"no data from the server process {master}: {sorted(by_pid)}"
    serving = [pid for pid, lines in by_pid.items() if view in lines]
    assert serving, f"no process recorded line {view} of {VIEWS.name}: {sorted(by_pid)}"
    assert master not in serving  # a forked worker answered, and saved its data on exit


def test_granian_workers_save_their_data_though_they_leave_by_os_exit(tmp_path):
    """multiprocessing's workers end with os._exit (no atexit): `patch = _exit` saves.
    (What granian's own threads run is not traced on Python 3.11: the tracer is installed
    in threads that the threading module starts; docs/architecture.md, "Tests".)"""
    directory, master = _measured_stack(tmp_path, "granian")
    workers = set(_lines_by_pid(directory, VIEWS)) - {master}
    assert len(workers) == 2, f"data from {sorted(workers)} besides the master {master}"
