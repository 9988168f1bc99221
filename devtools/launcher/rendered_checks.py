"""The deployment checks that need a rendered file first, for the checks stage of
`manage_all.py test` (devtools/launcher/suites.py, RENDERED_CHECKS):

    python -m devtools.launcher.rendered_checks kubernetes  # kubectl kustomize, then validate
    python -m devtools.launcher.rendered_checks prometheus  # promtool check config

Each renders into a temporary directory, runs the tool there, and exits non-zero with the
tool's output when it fails, or when the tool is not installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.launcher.suites import tool
from devtools.launcher.venv import REPO

# kustomize directories that must render to valid manifests.
KUSTOMIZATIONS = ("deploy/k8s/base", "deploy/k8s/overlays/production")
MONITORING = REPO / "deploy" / "monitoring"


class CheckFailed(Exception):
    pass


def found(name: str) -> str:
    path = tool(name)
    if path is None:
        raise CheckFailed(
            f"{name} is not installed (deploy/ci-tools.sh or the dev lock installs it)"
        )
    return path


def run(*command: str, cwd: Path = REPO) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CheckFailed(f"{' '.join(command)}:\n{done.stdout}{done.stderr}")
    return done.stdout


def kubernetes() -> None:
    """Every kustomization, rendered by the real kustomize (kubectl's), against the
    Kubernetes schemas: strict, so an unknown field fails too."""
    kubectl, validate = found("kubectl"), found("kubernetes-validate")
    with tempfile.TemporaryDirectory() as scratch:
        for directory in KUSTOMIZATIONS:
            rendered = Path(scratch) / f"{directory.replace('/', '-')}.yaml"
            rendered.write_text(run(kubectl, "kustomize", str(REPO / directory)))
            run(validate, "--strict", "--quiet", str(rendered))


def prometheus() -> None:
    """prometheus.yml as promtool reads it in the container: its rule files beside it,
    and each credentials file (a compose secret under /run/secrets/) a file that exists."""
    promtool = found("promtool")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for rules in MONITORING.glob("*.yml"):
            (directory / rules.name).write_text(rules.read_text())
        config = (MONITORING / "prometheus.yml").read_text()
        for path in set(re.findall(r"credentials_file: (/run/secrets/\S+)", config)):
            token = directory / Path(path).name
            token.write_text("ops-token\n")
            config = config.replace(f"credentials_file: {path}\n", f"credentials_file: {token}\n")
        (directory / "prometheus.yml").write_text(config)
        run(promtool, "check", "config", "prometheus.yml", cwd=directory)


CHECKS = {"kubernetes": kubernetes, "prometheus": prometheus}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in CHECKS:
        print(f"usage: python -m devtools.launcher.rendered_checks {'|'.join(CHECKS)}")
        return 2
    try:
        CHECKS[argv[0]]()
    except CheckFailed as failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
