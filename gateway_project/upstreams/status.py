"""What `GET /gateway/services`, the admin and the dashboard show of every upstream."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway_project.upstreams.discovery import upstreams


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch else None


def services_snapshot() -> list[dict]:
    """Every service and instance as this worker sees it, its registrations read afresh
    (an instance past its TTL is gone); breaker states are the shared ones."""
    group = upstreams()
    result = []
    for service, pool in group.current_pools().items():
        instances = []
        for instance in pool.members():
            error_rate, p50 = instance.recent()
            instances.append(
                {
                    "id": instance.id,
                    "url": instance.url,
                    "source": instance.source,
                    "state": "ejected" if instance.ejected else "healthy",
                    "breaker": pool.breaker_state(instance),
                    "in_flight": instance.in_flight,
                    "last_heartbeat": _iso(instance.last_heartbeat),
                    "error_rate": error_rate,
                    "p50_ms": p50,
                }
            )
        result.append({"name": service, "balancer": pool.balancer, "instances": instances})
    return result
