"""The embedded default is light: what `manage_all.py up` starts holds <= 400 MB PSS."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PSS comes from Linux /proc")
def test_up_stays_under_400_mb_pss_after_200_requests():
    from scripts.measure_up_memory import LIMIT_MB, measure

    figures = measure(200)

    assert figures["ok"] == 200, figures
    # One worker (with threads) per project, no registration child for a service run once.
    assert figures["processes"] <= 9, figures["projects"]
    assert figures["pss_mb"] <= LIMIT_MB, figures["projects"]
