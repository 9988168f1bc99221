"""The checks stage of `manage_all.py test` runs the deployment files' linters and the
checks of rendered files (render --check, kubernetes-validate on kustomize's output,
promtool on prometheus.yml), and a tool that is not installed fails its check rather
than passing unseen."""

from __future__ import annotations

import subprocess

import pytest

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
