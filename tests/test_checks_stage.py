"""The checks stage of `manage_all.py test` runs the deployment files' linters, and a
linter that is not installed fails its check rather than passing unseen; it type-checks
every project under its own settings, common and the gateway in strict mode."""

from __future__ import annotations

import os
import subprocess

from common.topology import SERVICES
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


def test_each_project_is_type_checked_under_its_own_settings():
    checks = {label: (command, env) for label, command, env in suites.check_commands()}
    checked = []
    for service in SERVICES.values():
        command, env = checks[f"{service.name}: mypy"]
        assert command[1:3] == ["-m", "mypy"]
        assert env["DJANGO_SETTINGS_MODULE"] == service.settings_module
        checked += command[command.index("--cache-dir") + 2 :]
    assert sorted(checked) == sorted(["common", *(s.package for s in SERVICES.values())])


def test_the_strict_override_sets_every_flag_of_strict_mode():
    """[tool.mypy]'s override for common and the gateway names --strict's flags one by one
    (`strict` itself is global): mypy's own list, less those set for every module."""
    import tomllib

    from mypy.main import process_options
    from mypy.options import PER_MODULE_OPTIONS

    def options(*flags):
        return process_options([*flags, "--config-file", os.devnull, "x.py"])[1]

    strict, default = options("--strict"), options()
    wanted = {
        name: getattr(strict, name)
        for name in PER_MODULE_OPTIONS
        if getattr(strict, name, None) != getattr(default, name, None)
    }
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    (override,) = [o for o in config["overrides"] if "common.*" in o["module"]]
    assert set(override["module"]) == {"common.*", "gateway_project.*"}
    named = {**{k: v for k, v in config.items() if k in wanted}, **override}
    assert {name: named.get(name) for name in wanted} == wanted
