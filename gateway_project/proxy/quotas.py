"""A consumer's quota and usage as the proxy counts them: the quota's windows (one per
UTC day or month, on the throttles' atomic counters) and the usage report that the
consumers API and the dashboard show (gateway_project.observability.usage's days)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from common.limits.counters import CounterUnavailable, WindowCounter
from gateway_project.observability import record, usage
from gateway_project.observability.traffic import CLASSES, LATENCY_BOUNDS_MS, percentile


def period_left_ms(period: str, now: datetime) -> tuple[str, int]:
    """(the period's name, milliseconds until it ends): the current UTC day or month."""
    if period == "month":
        ends = (now.replace(day=1) + timedelta(days=32)).replace(day=1)
        start = now.strftime("%Y-%m")
    else:
        ends = now + timedelta(days=1)
        start = now.strftime("%Y-%m-%d")
    ends = ends.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, max(1, int((ends - now).total_seconds() * 1000))


def quota_key(consumer_id: int, period: str) -> str:
    return f"throttle:quota:{consumer_id}:{period}"


def quota_state(
    consumer_id: int, quota: int | None, period_kind: str, counter: WindowCounter
) -> dict[str, Any]:
    """What a consumer has used of its quota this period (as `counter`, the throttles'
    windows, holds it), and when the period ends."""
    now = timezone.now()
    period, left_ms = period_left_ms(period_kind, now)
    try:
        used: int | None = counter.peek(quota_key(consumer_id, period))
    except CounterUnavailable:
        used = None  # the counters are out of reach: unknown, not zero
    resets = now + timedelta(milliseconds=left_ms)
    return {
        "quota": quota,
        "period": period_kind,
        "used": used,
        "remaining": None if quota is None or used is None else max(0, quota - used),
        "resets_at": f"{resets:%Y-%m-%dT%H:%M:%SZ}",
    }


def route_figures(tally: Counter[str], route: str) -> dict[str, Any]:
    """Requests, answers by status class and latency quantiles of one route in `tally`."""
    histogram = [tally.get(f"{route}|h{slot}", 0) for slot in range(len(LATENCY_BOUNDS_MS) + 1)]
    return {
        "requests": tally.get(f"{route}|n", 0),
        **{name: tally.get(f"{route}|{field}", 0) for name, field in CLASSES.items()},
        "p50_ms": percentile(histogram, 0.5),
        "p99_ms": percentile(histogram, 0.99),
    }


def usage_summary(consumer: Any, days: int, counter: WindowCounter) -> dict[str, Any]:
    """A consumer's last `days` UTC days: per route in all and per day, and its quota
    (`counter`: the throttles' windows, gateway_project.proxy.throttling.window_counter())."""
    record.flush()  # this process's latest requests too
    per_day = usage.read(consumer.pk, days)
    whole: Counter[str] = Counter()
    daily = []
    for day, tally in per_day.items():
        whole.update(tally)
        routes = sorted({field.split("|", 1)[0] for field in tally})
        daily.append(
            {
                "date": datetime.fromtimestamp(day * usage.DAY_SECONDS, UTC).date().isoformat(),
                "routes": {route: route_figures(tally, route) for route in routes},
            }
        )
    routes = sorted({field.split("|", 1)[0] for field in whole})
    return {
        "consumer": consumer.pk,
        "days": days,
        "routes": {route: route_figures(whole, route) for route in routes},
        "daily": daily,
        "quota": quota_state(consumer.pk, consumer.quota, consumer.quota_period, counter),
    }
