"""`manage_all.py up`: migrate and seed, start every instance, wait for /ready, print the
URL table, restart what stops (with a growing back-off), stop everything on Ctrl-C.

Each instance runs the container entrypoint (python -m common.runtime.entrypoint NAME), so it
starts the HTTP server containers start (WEB_SERVER), with the same settings checks.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from common.settings import server_env
from common.topology import GATEWAY, SERVICES, Service
from devtools.launcher.console import fail, paint, say
from devtools.launcher.logs import MergedLog, merged_log_path
from devtools.launcher.plan import (
    OWN_PORT_HEADERS,
    colours,
    count_word,
    front_door,
    own_port_rows,
    port_for,
    project_env,
    scalable,
    start_order,
)
from devtools.launcher.venv import REPO, ensure_venv

READY_TIMEOUT = 90.0
COLOURS = colours()


def port_is_free(port: int, host: str) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


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
    register: bool = True  # with the gateway (common.runtime.registration); one instance need not
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 1.0
    last_lines: list[str] = field(default_factory=list)
    merged: MergedLog | None = None
    # <NAME>_SERVICE_URL of scaled services: every instance, for the services calling them
    # (the gateway learns them from the registry).
    peers: dict[str, str] = field(default_factory=dict)

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
            [sys.executable, "-m", "common.runtime.entrypoint", self.service.name],
            cwd=REPO,
            env=project_env(
                self.service,
                PORT=str(self.port),
                HOST=self.host,
                SERVICE_INSTANCE_URL=self.url,
                SERVICE_REGISTRATION="on" if self.register else "off",
                **({} if self.service.is_gateway else self.peers),
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


def stop_all(runners: list[Runner], grace: float = 15.0) -> None:
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


def seed_commands(service: Service) -> list[tuple[str, ...]]:
    """The registry's seed commands the project has (each fills a new database, idempotently)."""
    module = REPO / service.package
    return [
        (command,)
        for command in service.seed_commands
        if any(module.glob(f"*/management/commands/{command}.py"))
    ]


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
        for name in start_order()
    }
    for name, proc in procs.items():
        output, _ = proc.communicate()
        if proc.returncode != 0:
            last = [line for line in output.strip().splitlines() if line.strip()][-1:]
            print(output, file=sys.stderr)
            fail(f"{name}: migrate failed: {last[0] if last else 'see above'}")
    development = project_env()["APP_ENV"] == "development"
    for name in start_order():
        service = SERVICES[name]
        for command in seed_commands(service):
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


def print_urls(runners: list[Runner]) -> None:
    """The front door (everything through the gateway), then each project's own port."""
    front = front_door(port_for(SERVICES[GATEWAY]))
    width = max(len(label) for label, _ in front)
    say(paint("through the gateway", "1"))
    for label, url in front:
        say(f"  {label.ljust(width)}  {url}")
    rows = own_port_rows([(r.label, r.service, r.port) for r in runners])
    widths = [
        max(len(str(row[i])) for row in (OWN_PORT_HEADERS, *rows))
        for i in range(len(OWN_PORT_HEADERS))
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(OWN_PORT_HEADERS, widths, strict=True))
    say(paint(line, "1"))
    for row in rows:
        say("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    say(f"all {count_word(len(SERVICES))} are ready; Ctrl-C stops them")


def parse_scale(entries: list[str]) -> dict[str, int]:
    """`--scale products=2 --scale users=3`: instances per service (1 unless named)."""
    choices = scalable()
    counts = {}
    for entry in entries:
        name, _, count = entry.partition("=")
        if name not in choices or not count.isdigit() or int(count) < 1:
            named = f"{', '.join(choices[:-1])} or {choices[-1]}"
            fail(f"--scale takes SERVICE=COUNT for {named}, not {entry!r}")
        counts[name] = int(count)
    return counts


def _wait_until_ready(runners: list[Runner], stopping: threading.Event) -> None:
    """Every instance answers /ready, or `up` stops with one line naming why."""
    deadline = time.monotonic() + READY_TIMEOUT
    pending = list(runners)
    while pending and not stopping.is_set():
        for runner in list(pending):
            code = runner.exited()
            if code is not None:
                time.sleep(0.2)  # let the pump print the last lines
                stop_all(runners)
                reason = next(
                    (line for line in reversed(runner.last_lines) if "error" in line.lower()),
                    runner.last_lines[-1] if runner.last_lines else "no output",
                )
                fail(f"{runner.label} exited during start (exit {code}): {reason}")
            if ready(runner.url):
                pending.remove(runner)
        if time.monotonic() > deadline:
            stop_all(runners)
            fail(f"not ready after {READY_TIMEOUT:.0f}s: " + ", ".join(r.label for r in pending))
        time.sleep(0.25)


def _supervise(runners: list[Runner], stopping: threading.Event) -> None:
    """Restart what stops, after 1 s, then 2, 4, ... 30 (back to 1 after a minute up)."""
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
                        f"{name} stopped (exit {code}); restart {runner.restarts + 1} "
                        f"in {runner.backoff:.0f}s",
                        "31",
                    )
                )
                restart_at[name] = now + runner.backoff
                runner.backoff = min(runner.backoff * 2, 30.0)
            elif now >= restart_at[name]:
                del restart_at[name]
                runner.restarts += 1
                runner.start()
        stopping.wait(0.5)


def command_up(args: argparse.Namespace) -> int:
    ensure_venv()
    scale = parse_scale(args.scale)
    host = server_env.host()
    taken = [s for s in SERVICES.values() if not port_is_free(port_for(s), host)]
    if taken:
        names = ", ".join(f"{port_for(s)} ({s.name})" for s in taken)
        fail(f"port {names} already in use: stop what listens there (another `up`?) and retry")
    prepare_databases()
    merged = MergedLog(merged_log_path())
    say(f"every project's lines also go to {merged.path} (manage_all.py logs REQUEST_ID)")
    runners = []
    for name in start_order():
        service = SERVICES[name]
        # A single instance needs no registration: the gateway has its URL (<NAME>_SERVICE_URL).
        single = scale.get(name, 1) == 1 and not service.is_gateway
        runners.append(Runner(service, host, port_for(service), register=not single, merged=merged))
        # Extra instances on free ports; they register with the gateway and share the load.
        for instance in range(2, scale.get(name, 1) + 1):
            runners.append(Runner(service, host, free_port(host), instance, merged=merged))
    peers = {
        SERVICES[name].url_var: ",".join(r.url for r in runners if r.service.name == name)
        for name, count in scale.items()
        if count > 1
    }
    for runner in runners:
        runner.peers = peers
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    for runner in runners:
        runner.start()
    _wait_until_ready(runners, stopping)
    if not stopping.is_set():
        print_urls(runners)
    _supervise(runners, stopping)
    say("stopping ...")
    stop_all(runners)
    say("stopped")
    return 0
