"""What the deployment tests share: the Kubernetes manifests as the real kustomize renders
them (kubectl's; skipped, saying so, where kubectl is absent), and the service tokens each
project must accept, from the code (common/identity/service_callers.py).

What the registry decides (names, ports, settings, secrets, databases, URLs, scrape jobs)
is rendered into the files by `manage_all.py render`, and `render --check` in the checks
stage fails when a committed file is stale: no test here repeats it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from common.topology import SERVICES
from devtools.launcher.plan import Registry

# The project serving each internal endpoint of common.identity.service_callers
# (tests/test_deploy_k8s.py checks that its urls.py names it).
ENDPOINT_OWNERS = {
    "/internal/reservations": "products",
    "/internal/users/authenticate": "users",
    "/internal/users/status": "users",
    "/internal/registry": "gateway",
    "/internal/cache/purge": "gateway",
}


def kustomize(directory: Path) -> list[dict]:
    """The objects `kubectl kustomize DIRECTORY` renders; the test skips without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the manifests are rendered by kubectl kustomize")
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {directory}:\n{done.stderr}"
    return [obj for obj in yaml.safe_load_all(done.stdout) if obj]


def pod_spec(obj: dict) -> dict | None:
    """The pod template's spec of a workload, None for anything else."""
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return spec["template"]["spec"]
    return None


def accepted_callers(name: str, services: Registry = SERVICES) -> list[str]:
    """The callers whose service token project NAME accepts: those of the internal
    endpoints it serves, in the registry's order."""
    from common.identity.service_callers import SERVICE_CALLERS

    callers = {
        caller
        for prefix, names in SERVICE_CALLERS.items()
        if ENDPOINT_OWNERS[prefix] == name
        for caller in names
    }
    return [other for other in services if other in callers]


def token_pairs(value: str) -> list[str]:
    """SERVICE_TOKENS as common.settings.namespaces.items reads it: comma-separated, each
    stripped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def compose_token_pairs(name: str, services: Registry = SERVICES) -> list[str]:
    """What compose's SERVICE_TOKENS must be for NAME: its own token first, then each
    caller's, and the one accepted next to it during a rotation."""
    pairs = [f"{name}=${{{services[name].env_prefix}_SERVICE_TOKEN}}"]
    for caller in accepted_callers(name, services):
        var = f"{services[caller].env_prefix}_SERVICE_TOKEN"
        pairs += [f"{caller}=${{{var}}}", f"{caller}=${{{var}_ACCEPTED:-${{{var}}}}}"]
    return pairs


def k8s_token_pairs(name: str, services: Registry = SERVICES) -> list[str]:
    """What a Deployment's SERVICE_TOKENS must be, as $(VAR) references to its env."""
    pairs = [f"{name}=$(SERVICE_TOKEN)"]
    for caller in accepted_callers(name, services):
        var = f"{services[caller].env_prefix}_SERVICE_TOKEN"
        pairs += [f"{caller}=$({var})", f"{caller}=$({var}_ACCEPTED)"]
    return pairs
