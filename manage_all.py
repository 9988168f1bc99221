#!/usr/bin/env python3
"""Set up, run and test the gateway and the three services: the one command a newcomer needs.

    python3 manage_all.py up                     # venv, migrations, dev keys, admin, all four
    python3 manage_all.py up --scale products=2  # two product instances sharing the load
    python3 manage_all.py test [--coverage] [SUITE ...] [-- PYTEST ARGS]
    python3 manage_all.py logs REQUEST_ID          # one request's lines, all four projects
    python3 manage_all.py bench [BENCH ARGS]       # scripts/bench.py (needs wrk)
    python3 manage_all.py render [--check]         # the deployment files from the registry
    python3 manage_all.py <gateway|users|products|orders> <django command> [args]

Standard library only: it creates the virtualenv that everything else runs in. This file
parses the command line; devtools/launcher does the work, from the service registry
(common/topology.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# Standard library only, like this file.
from common.topology import SERVICES
from devtools.launcher.console import fail
from devtools.launcher.logs import command_logs
from devtools.launcher.passthrough import command_bench, command_django
from devtools.launcher.plan import count_word
from devtools.launcher.render import command_render
from devtools.launcher.suites import PYTEST_SUITES, command_test
from devtools.launcher.supervisor import command_up
from devtools.launcher.venv import REPO


def parser() -> argparse.ArgumentParser:
    projects = "|".join(SERVICES)
    every = f"all {count_word(len(SERVICES))}"
    parser = argparse.ArgumentParser(
        prog="manage_all.py",
        description="Set up, run and test the API gateway and its services.",
        epilog=f"Also: manage_all.py <{projects}> <django command> [args]",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help=f"install, migrate, and run {every} until Ctrl-C")
    up.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="run N instances of a service (they register with the gateway), e.g. products=2",
    )
    logs = commands.add_parser("logs", help=f"one request's lines from {every}, in time order")
    logs.add_argument("request_id", help="the X-Request-ID the gateway answered with")
    logs.add_argument("--file", help="a merged log other than <VAR_DIR>/log/up.jsonl")
    logs.add_argument("--json", action="store_true", help="print the JSON lines as written")
    test = commands.add_parser("test", help="run every check and test suite")
    test.add_argument(
        "suites", nargs="*", help=f"checks, {', '.join(PYTEST_SUITES)} (default: all)"
    )
    test.add_argument(
        "--coverage",
        action="store_true",
        help="measure the suites (and the processes they start), print the figures, "
        "fail under [tool.coverage.report] fail_under",
    )
    render = commands.add_parser(
        "render",
        help="write the registry's parts of the deployment files (common/topology.py)",
    )
    render.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail naming each file that differs from what render writes",
    )
    # Listed for --help; its arguments go to scripts/bench.py untouched (main() below).
    commands.add_parser("bench", help="benchmark the gateway with wrk (scripts/bench.py)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SERVICES:
        if len(argv) == 1:
            fail(f"usage: manage_all.py {argv[0]} <django command> [args]")
        return command_django(SERVICES[argv[0]], argv[1:])
    if argv and argv[0] == "bench":
        return command_bench(argv[1:])
    pytest_args: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, pytest_args = argv[:split], argv[split + 1 :]
    args = parser().parse_args(argv)
    args.pytest_args = pytest_args
    if args.command == "render":
        return command_render(REPO, check=args.check)
    return {"up": command_up, "test": command_test, "logs": command_logs}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
