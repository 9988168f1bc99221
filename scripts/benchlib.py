"""What the benchmarks share: wrk runs, CPU and memory of process trees (/proc), medians.

Used by scripts/bench.py, scripts/benchmark_gateway.py and scripts/measure_up_memory.py.
Linux /proc gives CPU and memory; elsewhere those figures are 0.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import time
import timeit
from collections.abc import Callable
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_MISSING = (
    "wrk is not installed: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk` (macOS)"
)


def wrk_installed() -> bool:
    return Path(WRK).exists()


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


# -- processes ------------------------------------------------------------------------------


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (one scan of /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(root: int) -> list[int]:
    """ROOT and every process under it (a server's master, workers, helpers)."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def worker_pids(master: int) -> list[int]:
    """A server master's direct children (its workers)."""
    try:
        return [
            int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()
        ]
    except OSError:
        return []


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_mb(pids: list[int]) -> dict[str, float]:
    """Resident (RSS) and proportional (PSS: a shared page counted once over its sharers)
    memory of these processes, summed, in MB (smaps_rollup)."""
    rss = pss = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            rss += int(re.search(r"^Rss:\s+(\d+) kB", text, re.MULTILINE).group(1))
            pss += int(re.search(r"^Pss:\s+(\d+) kB", text, re.MULTILINE).group(1))
    return {"rss_mb": round(rss / 1024, 1), "pss_mb": round(pss / 1024, 1), "processes": len(pids)}


# -- wrk ------------------------------------------------------------------------------------


def request_script(method: str, body: str, directory: Path) -> Path:
    """A wrk Lua script sending METHOD with a JSON BODY."""
    path = directory / f"{method.lower()}-{abs(hash(body)) % 10**8}.lua"
    lua_body = body.replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        f'wrk.method = "{method}"\n'
        f'wrk.body = "{lua_body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return path


def wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    groups: dict[str, Callable[[], list[int]]] | None = None,
    during: Callable[[], None] | None = None,
) -> dict:
    """One wrk run: req/s, p50/p99, non-2xx, errors, and CPU ms per request of each process
    group (a name and a function giving its pids). DURING runs once, mid-run."""
    groups = groups or {}
    pids = {name: find() for name, find in groups.items()}
    before = {name: cpu_seconds(found) for name, found in pids.items()}
    command = [
        WRK,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
    ]
    command += ["--timeout", "10s"]  # a slow answer (a login at 32 connections) still counts
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    process = subprocess.Popen(  # noqa: S603 -- our own arguments
        [*command, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    if during is not None:
        time.sleep(duration / 2)
        during()
    output, errors = process.communicate(timeout=duration + 60)
    if process.returncode != 0:
        raise RuntimeError(
            f"wrk failed (exit {process.returncode}): {errors.strip() or output.strip()[-300:]}"
        )
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    if not requests or len(latency) < 2:
        raise RuntimeError(f"wrk got no answers from {url}:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "requests": requests,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "cpu_ms_per_request": {
            name: round((cpu_seconds(found) - before[name]) * 1000 / requests, 3)
            if requests
            else 0.0
            for name, found in pids.items()
        },
    }


def run_wrk(
    url: str, token: str, *, connections: int, duration: int, pids: list[int] | None = None
) -> dict:
    """A signed-in GET; `cpu_ms_per_request` is that of PIDS (benchmark_gateway.py's shape)."""
    found = pids or []
    figures = wrk(
        url,
        connections=connections,
        duration=duration,
        headers={"Authorization": f"Bearer {token}"},
        groups={"measured": lambda: found},
    )
    figures["cpu_ms_per_request"] = figures["cpu_ms_per_request"]["measured"]
    figures["socket_errors"] = figures.pop("errors")
    return figures


# -- figures --------------------------------------------------------------------------------


def median_of(runs: list[dict]) -> dict:
    """Each number's median over runs (nested dicts too); anything else from the first."""
    first = runs[0]
    result = {}
    for key, value in first.items():
        if isinstance(value, dict):
            result[key] = median_of([run[key] for run in runs])
        elif isinstance(value, (int, float)):
            result[key] = statistics.median(run[key] for run in runs)
        else:
            result[key] = value
    return result


def spread(values: list[float]) -> dict[str, float]:
    """Median, min and max of some figures, rounded for a report."""
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def summary(runs: list[dict]) -> dict:
    """Median, min and max of every figure over the rounds, and the rounds themselves."""

    def pick(select: Callable) -> Callable[[list[dict]], dict]:
        def over(items: list[dict]) -> dict:
            out = {}
            for key, value in items[0].items():
                if isinstance(value, dict):
                    out[key] = over([item[key] for item in items])
                elif isinstance(value, (int, float)):
                    out[key] = select([item[key] for item in items])
            return out

        return over

    return {
        "median": median_of(runs),
        "min": pick(min)(runs),
        "max": pick(max)(runs),
        "rounds": runs,
    }


# -- what the machine is --------------------------------------------------------------------


def machine_facts() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        model = found.group(1).strip() if found else ""
    loops = timeit.repeat("sum(range(10000))", number=1000, repeat=5)
    version = subprocess.run([WRK, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "timeit_sum_range_10000_us": round(min(loops) * 1000, 1),
        "load_average": round(os.getloadavg()[0], 2),
        "wrk": (version.stdout + version.stderr).split("\n", 1)[0].strip(),
    }


# -- what runs beside -----------------------------------------------------------------------


def answers(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def start_redis() -> tuple[str, subprocess.Popen | None]:
    """REDIS_URL if set, else a private redis-server on a free port."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"], None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 -- our own arguments
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            *("--port", str(port), "--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return f"redis://127.0.0.1:{port}/0", process
