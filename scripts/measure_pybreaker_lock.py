"""Why the gateway's breakers are not pybreaker's `call()`: eight threads each make calls
that take 5 ms (an upstream's latency), bare and through one pybreaker.CircuitBreaker.

    pip install pybreaker && python scripts/measure_pybreaker_lock.py

`call()` holds the breaker's lock for the whole guarded call (pybreaker issue #55), so the
calls of all threads run one after another. Figures: docs/performance.md.
"""

import statistics
import threading
import time

import pybreaker


def work():
    time.sleep(0.005)


def run(wrapped, threads=8, calls=25):
    def loop():
        for _ in range(calls):
            wrapped()

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * calls / (time.perf_counter() - start)


breaker = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=10)
rows = {"plain": [], "pybreaker.call": []}
for _ in range(5):
    rows["plain"].append(run(work))
    rows["pybreaker.call"].append(run(lambda: breaker.call(work)))
for name, values in rows.items():
    print(
        f"{name:16} {statistics.median(values):7.0f} calls/s"
        f"  (min {min(values):.0f}, max {max(values):.0f})"
    )
