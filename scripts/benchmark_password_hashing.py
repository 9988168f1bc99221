"""Password checks per second with Django's Argon2 defaults and with the projects' own
parameters (common.identity.hashers: OWASP's m=19 MiB, t=2, p=1), two threads like a worker's.

    .venv/bin/python scripts/benchmark_password_hashing.py

Every login (and every admin sign-in, locally and at the user service) is one such check,
so this bounds logins per second per core. Figures: docs/performance.md.
"""

from __future__ import annotations

import statistics
import threading
import time

from argon2 import PasswordHasher

PASSWORD = "wonderland-1865"  # noqa: S105 -- a benchmark's sample


def checks_per_second(hasher: PasswordHasher, threads: int = 2, per_thread: int = 10) -> float:
    hashed = hasher.hash(PASSWORD)

    def loop() -> None:
        for _ in range(per_thread):
            hasher.verify(hashed, PASSWORD)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - started)


def main() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from common.identity.hashers import OWASPArgon2PasswordHasher as ours

    hashers = {
        "Django 5.2 default (m=100 MiB, t=2, p=8)": PasswordHasher(
            time_cost=2, memory_cost=102_400, parallelism=8
        ),
        f"common.identity.hashers (m={ours.memory_cost // 1024} MiB, t={ours.time_cost}, "
        f"p={ours.parallelism})": PasswordHasher(
            time_cost=ours.time_cost, memory_cost=ours.memory_cost, parallelism=ours.parallelism
        ),
    }
    rounds: dict[str, list[float]] = {name: [] for name in hashers}
    for _ in range(5):  # alternate, so outside load skews both alike
        for name, hasher in hashers.items():
            rounds[name].append(checks_per_second(hasher))
    for name, figures in rounds.items():
        print(
            f"{name}: {statistics.median(figures):.1f} checks/s "
            f"(2 threads, median of 5: {min(figures):.1f} to {max(figures):.1f})"
        )


if __name__ == "__main__":
    main()
