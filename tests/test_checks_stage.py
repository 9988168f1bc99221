"""The checks stage of `manage_all.py test` runs the deployment files' linters, and a
linter that is not installed fails its check rather than passing unseen."""

from __future__ import annotations

import subprocess

from devtools.harness import REPO_ROOT
from devtools.launcher import suites


def test_the_checks_stage_lints_the_deployment_files():
    labels = [label for label, _, _ in suites.check_commands()]

    for label, _, _ in suites.DEPLOYMENT_LINTERS:
        assert label in labels


def test_a_missing_linter_is_a_failed_check_naming_it(monkeypatch):
    monkeypatch.setattr(suites, "tool", lambda name: None)

    _, command, _ = suites.deployment_linters()[0]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)

    assert done.returncode != 0
    assert "check-jsonschema is not installed" in done.stderr
