"""The checks stage of `manage_all.py test` runs the deployment files' linters and the
checks of rendered files (render --check, kubernetes-validate on kustomize's output,
promtool on prometheus.yml), and a tool that is not installed fails its check rather
than passing unseen; it type-checks every project under its own settings, common and the
gateway in strict mode."""

from __future__ import annotations

import os
import subprocess

import pytest

from common.topology import SERVICES
from devtools.harness import REPO_ROOT
from devtools.launcher import rendered_checks, suites


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


def test_the_checks_stage_checks_the_rendered_files():
    labels = [label for label, _, _ in suites.check_commands()]

    for label, _ in suites.RENDERED_CHECKS:
        assert label in labels


def a_kustomization(root, replicas) -> None:
    for directory in rendered_checks.KUSTOMIZATIONS:
        (root / directory).mkdir(parents=True)
        (root / directory / "kustomization.yaml").write_text("resources: [app.yaml]\n")
        (root / directory / "app.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\n"
            f"spec: {{replicas: {replicas}, selector: {{matchLabels: {{app: a}}}},"
            " template: {metadata: {labels: {app: a}},"
            " spec: {containers: [{name: a, image: a}]}}}\n"
        )


def test_the_kubernetes_check_validates_what_kustomize_renders(tmp_path, monkeypatch):
    if suites.tool("kubectl") is None or suites.tool("kubernetes-validate") is None:
        pytest.skip("kubectl or kubernetes-validate is not installed")
    monkeypatch.setattr(rendered_checks, "REPO", tmp_path / "good")
    a_kustomization(tmp_path / "good", replicas=2)
    rendered_checks.kubernetes()

    monkeypatch.setattr(rendered_checks, "REPO", tmp_path / "bad")
    a_kustomization(tmp_path / "bad", replicas='"two"')
    with pytest.raises(rendered_checks.CheckFailed, match="kubernetes-validate"):
        rendered_checks.kubernetes()


def test_the_prometheus_check_fails_on_a_rule_file_that_is_missing(tmp_path, monkeypatch):
    if suites.tool("promtool") is None:
        pytest.skip("promtool is not installed (deploy/ci-tools.sh installs it)")
    config = (rendered_checks.MONITORING / "prometheus.yml").read_text()
    (tmp_path / "prometheus.yml").write_text(config)
    monkeypatch.setattr(rendered_checks, "MONITORING", tmp_path)
    with pytest.raises(rendered_checks.CheckFailed, match=r"alerts\.yml"):
        rendered_checks.prometheus()


def test_a_rendered_check_without_its_tool_fails_naming_it(monkeypatch):
    monkeypatch.setattr(rendered_checks, "tool", lambda name: None)

    assert rendered_checks.main(["kubernetes"]) == 1
    with pytest.raises(rendered_checks.CheckFailed, match="kubectl is not installed"):
        rendered_checks.kubernetes()


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
