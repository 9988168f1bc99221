"""The one testing API for what a process keeps between requests (common.testing.reset_state):
it runs every forgetting registered with on_test_reset, and no production module offers
a reset of its own for tests to call instead."""

from __future__ import annotations

import ast

from common.settings import namespaces
from common.testing import reset_state
from common.tests.test_settings_sources import REPO_ROOT, production_sources

# Names a module-level function that forgets state for tests would have had.
RESET_WORDS = ("reset", "forget", "clear")
# The registry itself.
REGISTRY = {
    "common/settings/namespaces.py: on_test_reset",
    "common/settings/namespaces.py: registered_resets",
}


def test_reset_state_runs_every_registration_in_order(monkeypatch):
    ran: list[str] = []
    monkeypatch.setattr(namespaces, "_test_resets", [])
    namespaces.on_test_reset(lambda: ran.append("first"))
    namespaces.on_test_reset(lambda: ran.append("second"))

    reset_state()

    assert ran == ["first", "second"]


def test_no_production_module_offers_a_public_reset_of_its_own():
    """A module that keeps state registers a private forgetting with on_test_reset; a
    public `forget_x()` / `x_reset()` at module level is what tests would call instead."""
    offered = []
    for path in production_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if (
                isinstance(node, ast.FunctionDef)
                and not node.name.startswith("_")
                and any(word in node.name for word in RESET_WORDS)
            ):
                offered.append(f"{path.relative_to(REPO_ROOT)}: {node.name}")
    assert set(offered) - REGISTRY == set()
