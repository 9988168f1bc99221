"""The merged log: `up` writes every project's lines to one JSON-lines file, and
`manage_all.py logs REQUEST_ID` prints one request's lines from it, in time order."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from pathlib import Path

from common.settings import server_env
from devtools.launcher.console import paint
from devtools.launcher.plan import colours


def merged_log_path() -> Path:
    """<VAR_DIR>/log/up.jsonl: one JSON object per line, from every project."""
    return server_env.var_dir() / "log" / "up.jsonl"


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
    palette = colours()
    for entry in entries:
        if args.json:
            print(json.dumps(entry, default=str))
            continue
        name = str(entry.get("service", "-"))
        extra = " ".join(f"{k}={v}" for k, v in entry.items() if k not in shown)
        print(
            f"{entry.get('ts', '-')} {paint(name.ljust(8), palette.get(name, '0'))} "
            f"{str(entry.get('level', '-')).ljust(7)} {entry.get('message', '')}"
            + (f"  {extra}" if extra else "")
        )
    return 0
