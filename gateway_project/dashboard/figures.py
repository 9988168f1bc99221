"""What the dashboard draws: per route and per service series over the window."""

from __future__ import annotations

from collections import Counter

from gateway_project.observability.traffic import BUCKET_SECONDS, LATENCY_BOUNDS_MS, buckets


def percentile(histogram: list[int], q: float) -> float | None:
    """The q-quantile (ms) of a latency histogram, interpolated inside its bucket."""
    total = sum(histogram)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    for slot, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[slot - 1] if slot else 0.0
            upper = LATENCY_BOUNDS_MS[slot] if slot < len(LATENCY_BOUNDS_MS) else lower * 2
            return round(lower + (upper - lower) * (rank - seen) / count, 2)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


def _series(window: list[Counter], prefix: str) -> dict:
    slots = len(LATENCY_BOUNDS_MS) + 1
    rate, errors, p50, p99 = [], [], [], []
    for tally in window:
        count = tally.get(prefix + "n", 0)
        histogram = [tally.get(f"{prefix}h{slot}", 0) for slot in range(slots)]
        rate.append(round(count / BUCKET_SECONDS, 3))
        errors.append(round(tally.get(prefix + "e", 0) / count, 4) if count else 0.0)
        p50.append(percentile(histogram, 0.5))
        p99.append(percentile(histogram, 0.99))
    total = sum(tally.get(prefix + "n", 0) for tally in window)
    return {"total": total, "rate": rate, "error_rate": errors, "p50_ms": p50, "p99_ms": p99}


def _names(window: list[Counter], kind: str) -> set[str]:
    return {field.split("|")[1] for tally in window for field in tally if field.startswith(kind)}


def traffic_figures(routes: list[str], services: list[str], now: float | None = None) -> dict:
    """Series (one value per bucket, oldest first) for every route, service and scope."""
    by_bucket = buckets(now)
    window = list(by_bucket.values())
    scopes = sorted(_names(window, "throttled|"))
    return {
        "bucket_seconds": BUCKET_SECONDS,
        "buckets": [bucket * BUCKET_SECONDS for bucket in by_bucket],
        "routes": {
            name: _series(window, f"route|{name}|")
            for name in sorted(set(routes) | _names(window, "route|"))
        },
        "services": {
            name: _series(window, f"service|{name}|")
            for name in sorted(set(services) | _names(window, "service|"))
        },
        "throttled": {
            scope: [tally.get(f"throttled|{scope}|n", 0) for tally in window] for scope in scopes
        },
    }
