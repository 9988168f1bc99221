"""Commands handed to another program: a project's Django command, and the benchmark."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from common.topology import Service
from devtools.launcher.plan import project_env
from devtools.launcher.venv import REPO, ensure_venv

DJANGO_MAIN = (
    "import sys; from django.core.management import execute_from_command_line as main; "
    "main(sys.argv[1:])"
)
WRK_MISSING = "error: wrk is not installed: apt-get install -y wrk (macOS: brew install wrk)"


def command_django(service: Service, django_args: list[str]) -> int:
    ensure_venv()
    env = project_env(service)
    # `python -m django`, but its usage and help texts name `manage_all.py <project>`
    # (Django's prog is argv[0]), not `__main__.py`.
    argv = [sys.executable, "-c", DJANGO_MAIN, f"manage_all.py {service.name}", *django_args]
    os.chdir(REPO)
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def command_bench(bench_args: list[str]) -> int:
    """scripts/bench.py with the arguments as given; it drives wrk, so that comes first."""
    if shutil.which("wrk") is None:
        print(WRK_MISSING, file=sys.stderr, flush=True)
        return 2
    ensure_venv(dev=True)  # bench.py drives the stack with devtools/harness.py: the dev lock
    command = [sys.executable, str(REPO / "scripts" / "bench.py"), *bench_args]
    return subprocess.run(command, cwd=REPO, env=project_env(), check=False).returncode
