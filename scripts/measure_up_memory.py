"""Memory of the embedded default: what `manage_all.py up` starts, after 200 requests.

    .venv/bin/python scripts/measure_up_memory.py [--requests 200] [--json]

Runs `manage_all.py up` as a newcomer would (development, SQLite, no Redis: REDIS_URL and
the <SERVICE>_DATABASE_URL variables are removed), with a fresh VAR_DIR and free ports
(<NAME>_PORT), sends REQUESTS through the gateway (the product list and a product, the
JWKS; the gateway's anonymous limit is raised so none is refused), then sums RSS and PSS
over every process `up` started (its own included) and prints them per project.
Linux only (/proc/PID/smaps_rollup).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common.topology import SERVICES  # noqa: E402
from devtools.harness import free_port  # noqa: E402
from scripts.benchlib import _parents, memory_mb, process_tree  # noqa: E402

LIMIT_MB = 400
# What `up` on a laptop does not have (as tests/test_manage_all_e2e.py's `_up_env`).
_NOT_PASSED = (
    "APP_ENV",
    "DJANGO_SETTINGS_MODULE",
    "GATEWAY_INTERNAL_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "REDIS_URL",
    "VAR_DIR",
    "WEB_CONCURRENCY",
)


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 -- loopback
        response.read()
        return response.status


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"manage_all.py up exited ({process.returncode})")
        with contextlib.suppress(OSError):
            if _get(url) == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s")


def _by_project(root: int) -> dict[str, dict]:
    """The tree under `up`, grouped by the project each entrypoint serves."""
    parents = _parents()
    groups: dict[str, list[int]] = {"up": [root]}
    for pid in process_tree(root):
        if parents.get(pid) != root:
            continue
        name = "?"
        with contextlib.suppress(OSError):
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            found = [e[13:].decode() for e in environ if e.startswith(b"SERVICE_NAME=")]
            port = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"PORT=")]
            name = f"{found[0] if found else '?'}:{port[0] if port else '?'}"
            groups.setdefault(name, []).extend(process_tree(pid))
    return {name: memory_mb(pids) for name, pids in groups.items()}


def measure(requests: int = 200, *, extra_env: dict[str, str] | None = None) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="up-memory-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_DATABASE_URL", "_SERVICE_URL", "_PORT")) and key not in _NOT_PASSED
    }
    ports = {name: free_port() for name in SERVICES}
    env.update(
        VAR_DIR=str(var_dir),
        NO_COLOR="1",
        GATEWAY_RATE_ANON="100000/min",  # the measurement's own traffic is not limited
        **{f"{service.env_prefix}_PORT": str(ports[name]) for name, service in SERVICES.items()},
        **(extra_env or {}),
    )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    process = subprocess.Popen(  # noqa: S603 -- our own command
        [sys.executable, str(REPO / "manage_all.py"), "up"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for name in ("users", "products", "orders"):
            _wait_ready(f"http://127.0.0.1:{ports[name]}/ready", process)
        _wait_ready(f"{gateway}/ready", process)
        paths = ["/products", "/products/1", "/users/.well-known/jwks.json"]
        statuses = [_get(gateway + paths[i % len(paths)]) for i in range(requests)]
        time.sleep(1)
        groups = _by_project(process.pid)
        return {
            "requests": requests,
            "ok": sum(status == 200 for status in statuses),
            "projects": groups,
            "rss_mb": round(sum(group["rss_mb"] for group in groups.values()), 1),
            "pss_mb": round(sum(group["pss_mb"] for group in groups.values()), 1),
            "processes": sum(group["processes"] for group in groups.values()),
            "limit_pss_mb": LIMIT_MB,
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        shutil.rmtree(var_dir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = measure(args.requests)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{'process group':<14}{'processes':>10}{'RSS MB':>10}{'PSS MB':>10}")
    for name, group in figures["projects"].items():
        print(f"{name:<14}{group['processes']:>10}{group['rss_mb']:>10.1f}{group['pss_mb']:>10.1f}")
    print(
        f"{'total':<14}{figures['processes']:>10}{figures['rss_mb']:>10.1f}"
        f"{figures['pss_mb']:>10.1f}  (target <= {LIMIT_MB} MB PSS; "
        f"{figures['ok']}/{figures['requests']} requests answered 200)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
