"""No module of the gateway imports one that imports it back: the layers hold.

pyproject.toml's `layers` contract (lint-imports, in `manage_all.py test checks`) says
which package may import which; this says no two modules reach each other at all.
"""

from __future__ import annotations

from common.testing import import_cycles


def test_the_gateway_has_no_import_cycles():
    assert import_cycles("gateway_project") == []
