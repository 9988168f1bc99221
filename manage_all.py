#!/usr/bin/env python3
"""Set up, run and test the gateway and the three services: the one command a newcomer needs.

    python3 manage_all.py up                     # venv, migrations, dev keys, admin, all four
    python3 manage_all.py up --scale products=2  # two product instances sharing the load
    python3 manage_all.py test [SUITE ...] [-- PYTEST ARGS]
    python3 manage_all.py logs REQUEST_ID          # one request's lines, all four projects
    python3 manage_all.py bench [--quick]          # benchmark (scripts/bench.py; needs wrk)
    python3 manage_all.py <gateway|users|products|orders> <django command> [args]

Standard library only: it creates the virtualenv that everything else runs in.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))

from common.topology import SERVICES, Service  # noqa: E402 -- standard library only

VENV = REPO / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
LOCK_FILE = REPO / "requirements.txt"
STAMP_FILE = VENV / ".requirements.sha256"
READY_TIMEOUT = 90.0
START_ORDER = ("users", "products", "orders", "gateway")
COLOURS = {"gateway": "35", "users": "36", "products": "33", "orders": "32", "up": "1"}


# -- output ---------------------------------------------------------------------------------


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def paint(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if _use_colour() else text


def say(message: str) -> None:
    print(f"{paint('up'.ljust(8), COLOURS['up'])} | {message}", flush=True)


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


# -- the virtualenv -------------------------------------------------------------------------


def _lock_digest() -> str:
    digest = hashlib.sha256(LOCK_FILE.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install the lock when missing or changed; then run inside it."""
    if not VENV_PYTHON.exists():
        print("creating .venv ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if Path(sys.prefix).resolve() != VENV.resolve():
        # Re-run this command with the venv's interpreter (it checks the lock itself).
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
    digest = _lock_digest()
    if STAMP_FILE.exists() and STAMP_FILE.read_text().strip() == digest:
        return
    print("installing the locked dependencies (requirements.txt) ...", flush=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "-r",
            str(LOCK_FILE),
        ],
        check=False,
    )
    if result.returncode != 0:
        fail("pip could not install requirements.txt (see above)")
    STAMP_FILE.write_text(digest)


def port_for(service: Service) -> int:
    """The port `up` serves a project on: 8000-8003, or <NAME>_PORT."""
    return int(os.environ.get(f"{service.env_prefix}_PORT", service.port))


def project_env(service: Service | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("APP_ENV", "development")
    for other in SERVICES.values():
        if other.name != "gateway":
            env.setdefault(other.url_var, f"http://127.0.0.1:{port_for(other)}")
    # The gateway, as services reach it: instance registration, response-cache purges.
    env.setdefault("GATEWAY_INTERNAL_URL", f"http://127.0.0.1:{port_for(SERVICES['gateway'])}")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if service is not None:
        env["DJANGO_SETTINGS_MODULE"] = service.settings_module
        env["SERVICE_NAME"] = service.name
    env.update(extra)
    return env


def django_command(
    service: Service, *args: str, capture: bool = True
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=REPO,
        env=project_env(service),
        capture_output=capture,
        text=True,
        check=False,
    )


# -- up -------------------------------------------------------------------------------------


def port_is_free(port: int, host: str) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Runner:
    """One instance of a project (its entrypoint's server), its output prefixed and coloured."""

    service: Service
    host: str
    port: int
    instance: int = 1  # 2, 3, ... for the extra instances of `--scale`
    register: bool = True  # with the gateway (common.registration); one instance need not
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    last_lines: list[str] = field(default_factory=list)
    merged: MergedLog | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        name = self.service.name
        return name if self.instance == 1 else f"{name}#{self.instance}"

    def start(self) -> None:
        self.last_lines = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "common.entrypoint", self.service.name],
            cwd=REPO,
            env=project_env(
                self.service,
                PORT=str(self.port),
                HOST=self.host,
                SERVICE_INSTANCE_URL=self.url,
                SERVICE_REGISTRATION="on" if self.register else "off",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the group cleanly
        )
        self.started_at = time.monotonic()
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()

    def _pump(self, process: subprocess.Popen) -> None:
        prefix = paint(self.label.ljust(8), COLOURS[self.service.name])
        for line in process.stdout:
            line = line.rstrip("\n")
            self.last_lines = [*self.last_lines[-19:], line]
            print(f"{prefix} | {line}", flush=True)
            if self.merged is not None:
                self.merged.write(self.service.name, line)

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)


def _stop_all(runners: list[Runner], grace: float = 15.0) -> None:
    for runner in runners:
        runner.stop(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for runner in runners:
        if runner.process is None:
            continue
        try:
            runner.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            runner.stop(signal.SIGKILL)
            runner.process.wait(timeout=5)


def prepare_databases() -> None:
    """Migrate every database (in parallel), seed new ones, create the dev admin."""
    say("migrating databases ...")
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
            cwd=REPO,
            env=project_env(SERVICES[name]),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in START_ORDER
    }
    for name, proc in procs.items():
        output, _ = proc.communicate()
        if proc.returncode != 0:
            last = [line for line in output.strip().splitlines() if line.strip()][-1:]
            print(output, file=sys.stderr)
            fail(f"{name}: migrate failed: {last[0] if last else 'see above'}")
    development = project_env()["APP_ENV"] == "development"
    for name in START_ORDER:
        service = SERVICES[name]
        for command in service_seed_commands(name):
            result = django_command(service, *command)
            if result.returncode != 0:
                print(result.stdout, result.stderr, file=sys.stderr)
                fail(f"{name}: {' '.join(command)} failed")
            if result.stdout.strip():
                say(f"{name}: {result.stdout.strip()}")
        # One admin, at the user service: the other admins sign in through it (SSO).
        if development and name == "users":
            result = django_command(service, "ensure_dev_admin")
            if result.returncode != 0:
                print(result.stdout, result.stderr, file=sys.stderr)
                fail(f"{name}: could not create the development admin")
            if result.stdout.strip():
                say(f"{name}: {result.stdout.strip()}")


def service_seed_commands(name: str) -> list[tuple[str, ...]]:
    """Management commands that fill a new database with demo data (each is idempotent)."""
    commands = {"products": [("load_demo_catalog",)]}
    available = []
    for command in commands.get(name, []):
        module = REPO / SERVICES[name].package
        if any(module.glob(f"*/management/commands/{command[0]}.py")):
            available.append(command)
    return available


def print_urls(runners: list[Runner]) -> None:
    """The front door (everything through the gateway), then each project's own port."""
    gateway = f"http://localhost:{port_for(SERVICES['gateway'])}"
    front = [
        ("Swagger UI, every service", f"{gateway}/docs"),
        ("OpenAPI, merged", f"{gateway}/openapi.json"),
        ("dashboard (staff)", f"{gateway}/dashboard"),
        ("admin: gateway", f"{gateway}/admin/"),
        *(
            (f"admin: {name}", f"{gateway}/admin/{name}/")
            for name in ("users", "products", "orders")
        ),
        ("health", f"{gateway}/health"),
    ]
    width = max(len(label) for label, _ in front)
    say(paint("through the gateway", "1"))
    for label, url in front:
        say(f"  {label.ljust(width)}  {url}")
    rows = []
    for runner in sorted(runners, key=lambda r: list(SERVICES).index(r.service.name)):
        name = runner.service.name
        base = f"http://localhost:{runner.port}"
        health = f"{base}/health" if name == "gateway" else f"{base}/ready"
        rows.append((runner.label, base, health, f"{base}/api/docs", f"{base}/admin/"))
    headers = ("own port", "base URL", "health", "Swagger UI", "admin")
    widths = [max(len(str(row[i])) for row in (headers, *rows)) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    say(paint(line, "1"))
    for row in rows:
        say("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    say("all four are ready; Ctrl-C stops them")


def parse_scale(entries: list[str]) -> dict[str, int]:
    """`--scale products=2 --scale users=3`: instances per service (1 unless named)."""
    counts = {}
    for entry in entries:
        name, _, count = entry.partition("=")
        if name not in SERVICES or name == "gateway" or not count.isdigit() or int(count) < 1:
            fail(f"--scale takes SERVICE=COUNT for users, products or orders, not {entry!r}")
        counts[name] = int(count)
    return counts


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def command_up(args: argparse.Namespace) -> int:
    ensure_venv()
    scale = parse_scale(args.scale)
    host = os.environ.get("HOST", "127.0.0.1")
    taken = [s for s in SERVICES.values() if not port_is_free(port_for(s), host)]
    if taken:
        names = ", ".join(f"{port_for(s)} ({s.name})" for s in taken)
        fail(f"port {names} already in use: stop what listens there (another `up`?) and retry")
    if project_env()["APP_ENV"] == "development":
        # A laptop: one worker (with its threads) per project; production's default is 2.
        os.environ.setdefault("WEB_CONCURRENCY", "1")
    prepare_databases()
    if not os.environ.get("REDIS_URL"):
        say("REDIS_URL is not set: local-memory cache, the gateway runs as one process")
    merged = MergedLog(merged_log_path())
    say(f"every project's lines also go to {merged.path} (manage_all.py logs REQUEST_ID)")
    runners = []
    for name in START_ORDER:
        service = SERVICES[name]
        # A single instance needs no registration: the gateway has its URL (<NAME>_SERVICE_URL).
        single = scale.get(name, 1) == 1 and name != "gateway"
        runners.append(Runner(service, host, port_for(service), register=not single, merged=merged))
        # Extra instances on free ports; they register with the gateway and share the load.
        for instance in range(2, scale.get(name, 1) + 1):
            runners.append(Runner(service, host, free_port(host), instance, merged=merged))
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for runner in runners:
        runner.start()
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(runners)
    while pending and not stopping.is_set():
        for runner in list(pending):
            code = runner.exited()
            if code is not None:
                time.sleep(0.2)  # let the pump print the last lines
                _stop_all(runners)
                reason = next(
                    (line for line in reversed(runner.last_lines) if "error" in line.lower()),
                    runner.last_lines[-1] if runner.last_lines else "no output",
                )
                fail(f"{runner.label} exited during start (exit {code}): {reason}")
            if ready(runner.url):
                pending.remove(runner)
        if time.monotonic() > deadline:
            _stop_all(runners)
            fail(f"not ready after {READY_TIMEOUT:.0f}s: " + ", ".join(r.label for r in pending))
        time.sleep(0.25)
    if not stopping.is_set():
        print_urls(runners)
    restart_at: dict[str, float] = {}
    while not stopping.is_set():
        now = time.monotonic()
        for runner in runners:
            code = runner.exited()
            name = runner.label
            if code is None:
                if now - runner.started_at > 60:
                    runner.backoff = 1.0
                continue
            if name not in restart_at:
                say(
                    paint(
                        f"{name} stopped (exit {code}); restarting in {runner.backoff:.0f}s", "31"
                    )
                )
                restart_at[name] = now + runner.backoff
                runner.backoff = min(runner.backoff * 2, 30.0)
            elif now >= restart_at[name]:
                del restart_at[name]
                runner.restarts += 1
                runner.start()
        stopping.wait(0.5)
    say("stopping ...")
    _stop_all(runners)
    say("stopped")
    return 0


# -- merged log: `up` writes it, `logs REQUEST_ID` reads it ----------------------------------
# Self-contained: MergedLog is handed to each Runner, command_logs is the `logs` command.


def merged_log_path() -> Path:
    """<VAR_DIR>/log/up.jsonl: one JSON object per line, from all four projects."""
    return Path(os.environ.get("VAR_DIR", REPO / "var")) / "log" / "up.jsonl"


def log_entry(service: str, line: str) -> dict:
    """A project's JSON line as it is; anything else (a traceback, a server's own text)
    wrapped in the same shape, so every line of the file parses."""
    try:
        entry = json.loads(line)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        entry = {"ts": f"{now}.000+00:00", "level": "-", "request_id": "-", "message": line}
    entry.setdefault("service", service)
    return entry


class MergedLog:
    """The merged stream of one `up`; the previous run's is kept as up.jsonl.1."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.replace(path.with_name(path.name + ".1"))
        self._file = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 -- open while up runs
        self._lock = threading.Lock()

    def write(self, service: str, line: str) -> None:
        text = json.dumps(log_entry(service, line), default=str)
        with self._lock:
            self._file.write(text + "\n")


def request_lines(request_id: str, paths: list[Path]) -> list[dict]:
    """Every entry carrying REQUEST_ID, oldest first (ISO times in UTC sort as text)."""
    found = []
    for path in paths:
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as file:
            for line in file:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if isinstance(entry, dict) and entry.get("request_id") == request_id:
                        found.append(entry)
    return sorted(found, key=lambda entry: str(entry.get("ts", "")))


def command_logs(args: argparse.Namespace) -> int:
    path = Path(args.file) if args.file else merged_log_path()
    paths = [path.with_name(path.name + ".1"), path]
    entries = request_lines(args.request_id, paths)
    if not entries:
        print(f"no line with request id {args.request_id!r} in {path}", file=sys.stderr)
        return 1
    shown = {"ts", "service", "level", "request_id", "logger", "message"}
    for entry in entries:
        if args.json:
            print(json.dumps(entry, default=str))
            continue
        name = str(entry.get("service", "-"))
        extra = " ".join(f"{k}={v}" for k, v in entry.items() if k not in shown)
        print(
            f"{entry.get('ts', '-')} {paint(name.ljust(8), COLOURS.get(name, '0'))} "
            f"{str(entry.get('level', '-')).ljust(7)} {entry.get('message', '')}"
            + (f"  {extra}" if extra else "")
        )
    return 0


# -- test -----------------------------------------------------------------------------------


@dataclass
class SuiteResult:
    name: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    note: str = ""


PYTEST_SUITES = {
    "common": ("common.tests.settings", "common/tests"),
    "gateway": ("gateway_project.settings", "gateway_project"),
    "users": ("user_service.settings", "user_service"),
    "products": ("product_service.settings", "product_service"),
    "orders": ("order_service.settings", "order_service"),
    "e2e": (None, "tests"),
}


def run_checks() -> SuiteResult:
    """Lint, formatting, import boundaries, migrations and OpenAPI schemas."""
    result = SuiteResult("checks")
    started = time.monotonic()
    checks: list[tuple[str, list[str], dict[str, str]]] = [
        ("ruff check", [sys.executable, "-m", "ruff", "check", "."], {}),
        ("ruff format --check", [sys.executable, "-m", "ruff", "format", "--check", "."], {}),
        ("import contracts", [str(VENV / "bin" / "lint-imports")], {}),
    ]
    for service in SERVICES.values():
        env = {
            "DJANGO_SETTINGS_MODULE": service.settings_module,
            "VAR_DIR": str(REPO / "var" / "test"),
        }
        checks.append(
            (
                f"{service.name}: makemigrations --check",
                [sys.executable, "-m", "django", "makemigrations", "--check", "--dry-run"],
                env,
            )
        )
        checks.append(
            (
                f"{service.name}: OpenAPI schema valid",
                [
                    sys.executable,
                    "-m",
                    "django",
                    "spectacular",
                    "--validate",
                    "--fail-on-warn",
                    "--file",
                    os.devnull,
                ],
                env,
            )
        )
    for label, command, extra in checks:
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


def run_pytest_suite(name: str, extra: list[str]) -> SuiteResult:
    settings_module, path = PYTEST_SUITES[name]
    reports = REPO / "var" / "test-reports"
    reports.mkdir(parents=True, exist_ok=True)
    report = reports / f"{name}.xml"
    report.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pytest", path, "-q", f"--junitxml={report}"]
    command += ["--ds", settings_module] if settings_module else ["-p", "no:django"]
    started = time.monotonic()
    print(paint(f"== {name}: {' '.join(command[2:])}", "1"), flush=True)
    code = subprocess.run(
        [*command, *extra],
        cwd=REPO,
        env=project_env(VAR_DIR=str(REPO / "var" / "test" / name)),
        check=False,
    ).returncode
    result = SuiteResult(name, seconds=time.monotonic() - started)
    if report.exists():
        root = ET.parse(report).getroot()
        for suite in root.iter("testsuite"):
            tests = int(suite.get("tests", 0))
            failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped = int(suite.get("skipped", 0))
            result.failed += failed
            result.skipped += skipped
            result.passed += tests - failed - skipped
    if code == 5:
        result.note = "no tests ran"
        result.failed += 1
    elif code != 0 and result.failed == 0:
        result.note = f"pytest exited {code}"
        result.failed += 1
    return result


def command_test(args: argparse.Namespace) -> int:
    ensure_venv()
    names = args.suites or ["checks", *PYTEST_SUITES]
    unknown = [n for n in names if n != "checks" and n not in PYTEST_SUITES]
    if unknown:
        fail(f"unknown suite {', '.join(unknown)}; choose from checks, {', '.join(PYTEST_SUITES)}")
    results = []
    for name in names:
        if name == "checks":
            print(paint("== checks", "1"), flush=True)
            results.append(run_checks())
        else:
            results.append(run_pytest_suite(name, args.pytest_args))
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


# -- bench ----------------------------------------------------------------------------------


def command_bench(args: argparse.Namespace) -> int:
    """scripts/bench.py in the venv, with the arguments as given (it needs wrk)."""
    import shutil

    if shutil.which("wrk") is None:
        print(
            "bench needs wrk: `apt-get install -y wrk` (Debian, Ubuntu) or `brew install wrk`",
            file=sys.stderr,
        )
        return 2
    ensure_venv()
    command = [sys.executable, str(REPO / "scripts" / "bench.py"), *args.bench_args]
    return subprocess.run(command, cwd=REPO, check=False).returncode


# -- pass-through ---------------------------------------------------------------------------


def command_django(service: Service, django_args: list[str]) -> int:
    ensure_venv()
    env = project_env(service)
    argv = [sys.executable, "-m", "django", *django_args]
    os.chdir(REPO)
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SERVICES:
        if len(argv) == 1:
            fail(f"usage: manage_all.py {argv[0]} <django command> [args]")
        return command_django(SERVICES[argv[0]], argv[1:])
    parser = argparse.ArgumentParser(
        prog="manage_all.py",
        description="Set up, run and test the API gateway and its services.",
        epilog="Also: manage_all.py <gateway|users|products|orders> <django command> [args]",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="install, migrate, and run all four until Ctrl-C")
    up.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="run N instances of a service (they register with the gateway), e.g. products=2",
    )
    logs = commands.add_parser("logs", help="one request's lines from all four, in time order")
    logs.add_argument("request_id", help="the X-Request-ID the gateway answered with")
    logs.add_argument("--file", help="a merged log other than <VAR_DIR>/log/up.jsonl")
    logs.add_argument("--json", action="store_true", help="print the JSON lines as written")
    test = commands.add_parser("test", help="run every check and test suite")
    test.add_argument(
        "suites", nargs="*", help=f"checks, {', '.join(PYTEST_SUITES)} (default: all)"
    )
    bench = commands.add_parser(
        "bench",
        help="measure the platform (scripts/bench.py; --help there), needs wrk",
        add_help=False,
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    if argv and argv[0] == "bench":  # every argument is scripts/bench.py's, --help included
        return command_bench(argparse.Namespace(bench_args=argv[1:]))
    pytest_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, pytest_args = argv[:split], argv[split + 1 :]
    args = parser.parse_args(argv)
    args.pytest_args = pytest_args
    return {"up": command_up, "test": command_test, "logs": command_logs}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
