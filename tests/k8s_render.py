"""Render deploy/k8s/ the way `kustomize build` does, for machines without kustomize.

Only what the project's kustomizations use: `resources` (files and directories),
`patches` (strategic-merge files, matched by kind and name; `$patch: delete` removes the
object), `namespace` and `images`. Anything else in a kustomization.yaml is refused, so a
new feature cannot be silently ignored. Where kubectl is installed, a test renders both
ways and compares (tests/test_deploy_k8s.py).
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "patches", "namespace", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "IngressClass"}


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise ValueError(f"{directory}: tests/k8s_render.py cannot render {sorted(unsupported)}")
    objects: list[dict] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            objects += render(path)
        else:
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise ValueError(f"{directory}: only file patches are supported: {patch}")
        for doc in yaml.safe_load_all((directory / patch["path"]).read_text()):
            objects = apply_patch(objects, doc)
    if namespace := kustomization.get("namespace"):
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = namespace
    for image in kustomization.get("images", []):
        for obj in objects:
            set_image(obj, image)
    return objects


def apply_patch(objects: list[dict], patch: dict) -> list[dict]:
    key = (patch["kind"], patch["metadata"]["name"])
    matches = [o for o in objects if (o["kind"], o["metadata"]["name"]) == key]
    if len(matches) != 1:
        raise ValueError(f"patch {key} matches {len(matches)} objects")
    if patch.get("$patch") == "delete":
        return [o for o in objects if o is not matches[0]]
    merged = merge(matches[0], patch)
    return [merged if o is matches[0] else o for o in objects]


def merge(base: object, patch: object) -> object:
    """Strategic merge as far as these files need it: maps merge key by key, lists of
    named maps (containers, env, volumes) merge by name, other lists are replaced."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        out = copy.deepcopy(base)
        index = {item["name"]: i for i, item in enumerate(out)}
        for item in patch:
            if item["name"] in index:
                out[index[item["name"]]] = merge(out[index[item["name"]]], item)
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _named(items: list) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def pod_spec(obj: dict) -> dict | None:
    """The pod template's spec of a workload, None for anything else."""
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return spec["template"]["spec"]
    return None


def set_image(obj: dict, image: dict) -> None:
    spec = pod_spec(obj)
    if spec is None:
        return
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        name, _, tag = container["image"].partition(":")
        if name == image["name"]:
            container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
