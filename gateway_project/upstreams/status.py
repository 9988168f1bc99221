"""What `GET /gateway/services`, the admin and the dashboard show of every upstream."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from common.upstreams.pool import Instance
from gateway_project.upstreams.discovery import upstreams

_polls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="status-ready")


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None


def _ready(instance: Instance, now: float) -> dict[str, Any]:
    """The instance's last /ready as /health reads it: up, down (and why) or unknown."""
    readiness = instance.readiness
    if readiness is None:
        return {"ready": "unknown", "ready_detail": None, "ready_age_seconds": None}
    return {
        "ready": "up" if readiness.ok else "down",
        "ready_detail": readiness.detail,
        "ready_age_seconds": round(max(0.0, now - readiness.at), 1),
    }


def services_snapshot(fresh_within: float | None = None) -> list[dict[str, Any]]:
    """Every service and instance as this worker sees it, its registrations read afresh
    (an instance past its TTL is gone); breaker states are the shared ones.

    With `fresh_within` (seconds), an instance whose last /ready poll is older than that
    (or that has none: another worker may take every poll) is asked now, in parallel,
    each bounded by the health timeout, and the answer is kept where /health reads it:
    what the page shows is then at most that old."""
    group = upstreams()
    pools = group.current_pools()
    if fresh_within is not None:
        oldest = time.monotonic() - fresh_within
        stale = [
            instance
            for pool in pools.values()
            for instance in pool.members()
            if instance.readiness is None or instance.readiness.at < oldest
        ]
        for job in [_polls.submit(group.check_ready, instance, "dashboard") for instance in stale]:
            job.result()
    now = time.monotonic()
    result = []
    for service, pool in pools.items():
        instances = []
        for instance in pool.members():
            error_rate, p50 = instance.recent()
            instances.append(
                {
                    "id": instance.id,
                    "url": instance.url,
                    "source": instance.source,
                    "state": "ejected" if instance.ejected else "healthy",
                    **_ready(instance, now),
                    "breaker": pool.breaker_state(instance),
                    "in_flight": instance.in_flight,
                    "last_heartbeat": _iso(instance.last_heartbeat),
                    "error_rate": error_rate,
                    "p50_ms": p50,
                }
            )
        result.append(
            {
                "name": service,
                "balancer": pool.balancer,
                # This worker's: each worker has its own slots (the metrics sum them).
                "bulkhead": group.bulkheads[service].status(),
                "instances": instances,
            }
        )
    return result
