"""What the dashboard draws: per route and per service series over a time range."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gateway_project.observability import record
from gateway_project.observability.traffic import (
    CLASSES,
    COARSE,
    FINE,
    LATENCY_BOUNDS_MS,
    Tier,
    buckets,
    percentile,
)

# The ranges the dashboard offers: seconds -> the tier that draws it.
RANGES: dict[int, Tier] = {5 * 60: FINE, 15 * 60: FINE, 60 * 60: COARSE}
DEFAULT_RANGE = 5 * 60


def _series(window: list[Counter[str]], prefix: str, seconds: int) -> dict[str, Any]:
    slots = len(LATENCY_BOUNDS_MS) + 1
    rate, errors, p50, p99 = [], [], [], []
    classes: dict[str, list[int]] = {name: [] for name in CLASSES}
    for tally in window:
        count = tally.get(prefix + "n", 0)
        histogram = [tally.get(f"{prefix}h{slot}", 0) for slot in range(slots)]
        rate.append(round(count / seconds, 3))
        errors.append(round(tally.get(prefix + "e", 0) / count, 4) if count else 0.0)
        p50.append(percentile(histogram, 0.5))
        p99.append(percentile(histogram, 0.99))
        for name, field in CLASSES.items():
            classes[name].append(tally.get(prefix + field, 0))
    totals = {name: sum(values) for name, values in classes.items()}
    whole: Counter[int] = Counter()
    for tally in window:
        for slot in range(slots):
            whole[slot] += tally.get(f"{prefix}h{slot}", 0)
    overall = [whole[slot] for slot in range(slots)]
    return {
        "total": sum(tally.get(prefix + "n", 0) for tally in window),
        "rate": rate,
        "error_rate": errors,  # the share of 5xx answers
        "p50_ms": p50,
        "p99_ms": p99,
        "classes": classes,  # answers per bucket by status class
        "class_totals": totals,
        "p50_ms_total": percentile(overall, 0.5),
        "p99_ms_total": percentile(overall, 0.99),
    }


def _names(window: list[Counter[str]], kind: str) -> set[str]:
    return {field.split("|")[1] for tally in window for field in tally if field.startswith(kind)}


def traffic_figures(
    routes: list[str],
    services: list[str],
    now: float | None = None,
    range_seconds: int = DEFAULT_RANGE,
) -> dict[str, Any]:
    """Series (one value per bucket, oldest first) for every route, service and scope."""
    tier = RANGES[range_seconds]
    record.flush()  # this process's latest requests too
    by_bucket = buckets(now, tier)
    window = list(by_bucket.values())[-(range_seconds // tier.seconds) :]
    numbers = list(by_bucket)[-len(window) :]
    scopes = sorted(_names(window, "throttled|"))
    seconds = tier.seconds
    return {
        "range_seconds": range_seconds,
        "bucket_seconds": seconds,
        "buckets": [bucket * seconds for bucket in numbers],
        "routes": {
            name: _series(window, f"route|{name}|", seconds)
            for name in sorted(set(routes) | _names(window, "route|"))
        },
        "services": {
            name: _series(window, f"service|{name}|", seconds)
            for name in sorted(set(services) | _names(window, "service|"))
        },
        "throttled": {
            scope: [tally.get(f"throttled|{scope}|n", 0) for tally in window] for scope in scopes
        },
    }
