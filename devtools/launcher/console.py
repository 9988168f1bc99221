"""How the launcher speaks: coloured prefixes on a terminal, one-line errors."""

from __future__ import annotations

import os
import sys
import time
from typing import NoReturn

UP_COLOUR = "1"  # the launcher's own lines: bold


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def paint(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m" if _use_colour() else text


def stamp() -> str:
    """Now in UTC, to the second, as the launcher's own lines start (the projects' JSON
    lines carry their own `ts`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def say(message: str) -> None:
    print(f"{paint('up'.ljust(8), UP_COLOUR)} | {stamp()} {message}", flush=True)


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)
