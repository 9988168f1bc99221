"""A service instance registers itself with the gateway, heartbeats, and leaves on shutdown.

    # from common.runtime.entrypoint, the token on stdin:
    python -m common.runtime.registration SERVICE GATEWAY_URL

Runs as a small process of its own next to the HTTP server (so a server that forks
workers never forks a heartbeat thread). It waits for the instance's own /ready, then
POSTs {service, url, instance_id} to GATEWAY_INTERNAL_URL/internal/registry/instances
every REGISTRY_HEARTBEAT_SECONDS with the service token (the entrypoint hands over the
settings' values: the gateway's URL as an argument, the token on stdin); on SIGTERM, or
when the server it belongs to has gone, it deregisters and exits. A gateway that is down
is retried at the next heartbeat: the instance stays up either way. Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from common.settings import server_env

SERVICE_TOKEN_HEADER = "X-Service-Token"  # noqa: S105 -- common.identity.auth's, without Django
REGISTRY_PATH = "/internal/registry/instances"


class Registrar:
    def __init__(self, gateway: str, service: str, url: str, token: str, every: float) -> None:
        self.gateway = gateway.rstrip("/")
        self.service = service
        self.url = url
        self.token = token
        self.every = every
        self.instance_id = url.split("://", 1)[1]
        self.stopping = threading.Event()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> int:
        request = urllib.request.Request(  # noqa: S310 -- http(s) only, checked in main()
            f"{self.gateway}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", SERVICE_TOKEN_HEADER: self.token},
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                status: int = response.status
                return status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def heartbeat(self) -> int:
        body = {"service": self.service, "url": self.url, "instance_id": self.instance_id}
        status = self._call("POST", REGISTRY_PATH, body)
        if status not in (200, 201):
            _say(f"registration at {self.gateway} answered {status or 'nothing'}")
        return status

    def deregister(self) -> int:
        path = f"{REGISTRY_PATH}/{quote(self.service)}/{quote(self.instance_id, safe='')}"
        return self._call("DELETE", path)

    def wait_until_ready(self, server_alive: Callable[[], bool]) -> bool:
        while not self.stopping.is_set() and server_alive():
            try:
                with urllib.request.urlopen(f"{self.url}/ready", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return True
            except (OSError, urllib.error.URLError):
                pass
            self.stopping.wait(0.5)
        return False

    def run(self, server_alive: Callable[[], bool]) -> None:
        if not self.wait_until_ready(server_alive):
            return
        while not self.stopping.is_set() and server_alive():
            self.heartbeat()
            deadline = time.monotonic() + self.every
            while time.monotonic() < deadline and not self.stopping.is_set() and server_alive():
                self.stopping.wait(min(0.5, self.every))
        self.deregister()


def _say(message: str) -> None:
    server_env.say("WARNING", message, logger="registration")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m common.runtime.registration SERVICE GATEWAY_URL", file=sys.stderr)
        return 2
    service, gateway = args
    token = sys.stdin.readline().strip()
    if not (gateway and service and token):
        return 0
    if not gateway.startswith(("http://", "https://")):
        _say(f"GATEWAY_INTERNAL_URL must be an http(s) URL, not {gateway!r}: not registering")
        return 2
    registrar = Registrar(
        gateway,
        service,
        server_env.instance_url(),
        token,
        server_env.heartbeat_seconds(),
    )
    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: registrar.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: registrar.stopping.set())
    registrar.run(lambda: os.getppid() == parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
