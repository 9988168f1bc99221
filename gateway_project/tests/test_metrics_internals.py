"""Canary of the prometheus_client internals observability.metrics adds many observations
through (its docstring lists them): fails loudly when a release changes them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram

from gateway_project.observability.metrics import LATENCY_BUCKETS, histogram_add, latency_slot

AMOUNTS = (0.0, 0.0004, 0.001, 0.0011, 0.0025, 0.03, 0.3, 0.999, 1.0, 4.9, 10.0, 12.5, 99.0)


def samples(histogram: Histogram) -> list[tuple[str, dict[str, str], float]]:
    """Its samples but `_created` (when it was made), the sum to 9 places."""
    return [
        (s.name, s.labels, round(s.value, 9))
        for metric in histogram.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    ]


def test_adding_in_bulk_leaves_what_as_many_observations_leave():
    observed = Histogram("observed", "", buckets=LATENCY_BUCKETS, registry=CollectorRegistry())
    added = Histogram("observed", "", buckets=LATENCY_BUCKETS, registry=CollectorRegistry())
    for amount in AMOUNTS:
        for _ in range(3):
            observed.observe(amount)
        histogram_add(added, latency_slot(amount), 3, 3 * amount)

    assert samples(added) == samples(observed)
    assert [name for name, _, _ in samples(added)].count("observed_bucket") == len(
        LATENCY_BUCKETS
    ) + 1


def test_the_slot_is_the_bucket_observe_picks():
    for amount in AMOUNTS:
        alone = Histogram("one", "", buckets=LATENCY_BUCKETS, registry=CollectorRegistry())
        alone.observe(amount)
        counts = [bucket.get() for bucket in alone._buckets]
        assert counts.index(1.0) == latency_slot(amount), amount
