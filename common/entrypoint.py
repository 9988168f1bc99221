"""Start one project under gunicorn: the command containers, manage_all.py and tests run.

    python -m common.entrypoint products [--migrate]

Settings are loaded first, so a missing production secret stops it with one line naming
the variable, not a worker traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common.services import SERVICES

CONF = Path(__file__).with_name("gunicorn_conf.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.entrypoint")
    parser.add_argument("service", choices=sorted(SERVICES))
    parser.add_argument(
        "--migrate",
        action="store_true",
        default=os.environ.get("MIGRATE_ON_START", "").lower() in ("1", "true", "yes"),
        help="apply migrations before serving (also MIGRATE_ON_START=true)",
    )
    args = parser.parse_args(argv)
    service = SERVICES[args.service]
    os.environ["DJANGO_SETTINGS_MODULE"] = service.settings_module
    os.environ["SERVICE_NAME"] = service.name
    if service.name == "gateway" and not os.environ.get("REDIS_URL"):
        # Local-memory throttle counters are exact only inside one process.
        os.environ["WEB_CONCURRENCY"] = "1"

    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as error:
        print(f"{service.name}: configuration error: {error}", file=sys.stderr)
        return 2
    if args.migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    os.execv(
        sys.executable,
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), service.wsgi_app],
    )
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
