"""deploy/k8s/, rendered by kubectl kustomize, matches the code.

The registry's parts are rendered into the files (`manage_all.py render`), and the checks
stage validates both kustomizations against the Kubernetes schemas (kubernetes-validate,
strict). Here: every project runs on its port with its probes, every environment
variable, secret key and scheduled command exists, each project sends its own token and
accepts exactly its callers', and the NetworkPolicies admit to each service only the
gateway and the callers the code has. Skipped, saying so, where kubectl is absent.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from common.topology import SERVICES, UPSTREAMS
from devtools.harness import REPO_ROOT
from tests.deploy_checks import (
    ENDPOINT_OWNERS,
    accepted_callers,
    k8s_token_pairs,
    kustomize,
    pod_spec,
    token_pairs,
)
from tests.test_docs_and_deploy import INTERNAL, readme_variables

K8S = REPO_ROOT / "deploy" / "k8s"
BASE, PRODUCTION = K8S / "base", K8S / "overlays" / "production"
# Set for the manifests' own use ($(VAR) references), read by no code.
MANIFEST_ONLY = {"POD_IP", "POD_NAMESPACE", "PUBLIC_HOSTS"}
# Each caller's service token (and the one accepted next to it during a rotation): the
# Deployments build SERVICE_TOKENS from them.
MANIFEST_ONLY |= {
    f"{s.env_prefix}_SERVICE_TOKEN{suffix}"
    for s in SERVICES.values()
    for suffix in ("", "_ACCEPTED")
}


def expected_callers() -> dict[str, set[str]]:
    """Pods allowed to reach each project: the gateway (it routes to every service) and the
    callers of the internal endpoints the project serves."""
    from common.identity.service_callers import SERVICE_CALLERS

    assert set(SERVICE_CALLERS) == set(ENDPOINT_OWNERS), "an internal endpoint has no owner here"
    allowed = {name: ({"gateway"} if name != "gateway" else set()) for name in SERVICES}
    for prefix, callers in SERVICE_CALLERS.items():
        owner = SERVICES[ENDPOINT_OWNERS[prefix]]
        urls = "\n".join(p.read_text() for p in (REPO_ROOT / owner.package).rglob("urls.py"))
        assert prefix.lstrip("/").split("/", 1)[1].split("/")[0] in urls, prefix
        allowed[owner.name] |= set(callers)
    return allowed


def objects(directory: Path) -> list[dict]:
    return kustomize(directory)


def by_kind(rendered: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in rendered if o["kind"] == kind}


def containers(obj: dict) -> list[dict]:
    spec = pod_spec(obj)
    return [] if spec is None else spec.get("initContainers", []) + spec["containers"]


def workloads(rendered: list[dict]) -> list[dict]:
    return [o for o in rendered if pod_spec(o) is not None]


@pytest.fixture(scope="module")
def base() -> list[dict]:
    return objects(BASE)


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return objects(PRODUCTION)


def key_of(obj: dict) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def test_every_project_runs_the_image_entrypoint_on_its_port_with_its_probes(base):
    deployments, services = by_kind(base, "Deployment"), by_kind(base, "Service")
    assert set(deployments) == set(SERVICES)
    for name, service in SERVICES.items():
        spec = pod_spec(deployments[name])
        (container,) = spec["containers"]
        assert container["args"] == [name]
        assert (
            "command" not in container
        )  # the image's ENTRYPOINT: python -m common.runtime.entrypoint
        assert container["ports"] == [{"name": "http", "containerPort": service.port}]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["PORT"] == str(service.port)
        assert env["DJANGO_SETTINGS_MODULE"] == service.settings_module
        assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
        assert container["livenessProbe"]["httpGet"]["path"] == service.liveness_path
        assert container["startupProbe"]["httpGet"]["path"] == service.liveness_path
        resources = container["resources"]
        assert {"cpu", "memory"} <= set(resources["requests"])
        assert "memory" in resources["limits"]
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == 10001  # the image's USER
        assert service.port == services[name]["spec"]["ports"][0]["port"]
        assert services[name]["spec"]["selector"] == {"app.kubernetes.io/name": name}
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert deployments[name]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        annotations = deployments[name]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(service.port)


def test_each_project_sends_its_own_token_and_accepts_exactly_its_callers(base):
    """SERVICE_TOKENS from secret references: its own, then each caller's current one and
    the one accepted next to it during a rotation (common/identity/service_callers.py)."""
    for name, service in SERVICES.items():
        (container,) = pod_spec(by_kind(base, "Deployment")[name])["containers"]
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
            for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert refs["SERVICE_TOKEN"] == f"{service.env_prefix}_SERVICE_TOKEN", name
        for caller in accepted_callers(name):
            var = f"{SERVICES[caller].env_prefix}_SERVICE_TOKEN"
            for key in (var, f"{var}_ACCEPTED"):
                assert refs[key] == key, name
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert token_pairs(env["SERVICE_TOKENS"]) == k8s_token_pairs(name), name


def test_the_gateway_balances_over_headless_services(base):
    """The gateway's URLs name `<service>-headless` (rendered); those Services are
    headless and select the service's pods."""
    services = by_kind(base, "Service")
    for name in UPSTREAMS:
        headless = services[f"{name}-headless"]["spec"]
        assert headless["clusterIP"] == "None"
        assert headless["selector"] == {"app.kubernetes.io/name": name}
        assert headless["ports"][0]["port"] == SERVICES[name].port


def test_every_variable_set_is_one_the_code_reads(base):
    documented = readme_variables() | INTERNAL | MANIFEST_ONLY
    documented |= {s.database_url_var for s in SERVICES.values()}
    documented |= {f"{s.env_prefix}_SECRET_KEY" for s in SERVICES.values()}
    config = by_kind(base, "ConfigMap")["django-api-gateway"]["data"]
    assert set(config) - documented == set()
    for workload in workloads(base):
        for container in containers(workload):
            names = [e["name"] for e in container.get("env", [])]
            assert set(names) - documented == set(), workload["metadata"]["name"]
            defined = set(config)
            for entry in container.get("env", []):
                for ref in re.findall(r"\$\(([A-Z_]+)\)", entry.get("value", "")):
                    assert ref in defined, f"{entry['name']} uses $({ref}) before it is set"
                defined.add(entry["name"])


def test_every_secret_reference_exists_and_the_base_holds_placeholders_only(base, production):
    secrets = by_kind(base, "Secret")
    for secret in secrets.values():
        assert all("placeholder" in value for value in secret["stringData"].values())
    assert by_kind(production, "Secret") == {}, "production never overwrites the real ones"
    for workload in workloads(base):
        spec = pod_spec(workload)
        for container in containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], entry
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in by_kind(base, "ConfigMap")
        for volume in spec.get("volumes", []):
            secret = secrets[volume["secret"]["secretName"]]
            for item in volume["secret"].get("items", []):
                assert item["key"] in secret["stringData"]


def test_only_the_user_service_and_its_jobs_hold_the_signing_key(base):
    holders = {
        w["metadata"]["name"]
        for w in workloads(base)
        if any(v["secret"]["secretName"] == "jwt-signing-key" for v in pod_spec(w)["volumes"])
    }
    assert holders == {"users", "migrate", "users-flush-expired-tokens"}


def test_each_project_gets_only_its_own_database(base):
    for name, service in SERVICES.items():
        deployment = by_kind(base, "Deployment")[name]
        for container in containers(deployment):
            urls = {e["name"] for e in container["env"] if e["name"].endswith("_DATABASE_URL")}
            assert urls == {service.database_url_var}


def test_scheduled_commands_exist(base):
    cronjobs = by_kind(base, "CronJob")
    commands = {}
    for name, cronjob in cronjobs.items():
        (container,) = pod_spec(cronjob)["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        commands[name] = (env["DJANGO_SETTINGS_MODULE"], container["command"][-1])
    assert commands == {
        "orders-reconcile": ("order_service.settings", "reconcile"),
        "users-flush-expired-tokens": ("user_service.settings", "flushexpiredtokens"),
    }
    assert (REPO_ROOT / "order_service/orders/management/commands/reconcile.py").exists()
    blacklist = importlib.util.find_spec("rest_framework_simplejwt.token_blacklist")
    flush = Path(blacklist.origin).parent / "management/commands/flushexpiredtokens.py"
    assert flush.exists()
    assert (
        "rest_framework_simplejwt.token_blacklist"
        in (REPO_ROOT / "user_service/settings.py").read_text()
    )
    assert cronjobs["orders-reconcile"]["spec"]["concurrencyPolicy"] == "Forbid"


def test_autoscalers_and_disruption_budgets_target_real_deployments(base):
    deployments = by_kind(base, "Deployment")
    hpas = by_kind(base, "HorizontalPodAutoscaler")
    assert set(hpas) == {"gateway", "products"}
    for hpa in hpas.values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
        assert hpa["spec"]["minReplicas"] >= 2
    for name, deployment in deployments.items():
        # An autoscaled Deployment names no replica count: an apply would reset the HPA's.
        assert ("replicas" in deployment["spec"]) == (name not in hpas), name
    pdbs = by_kind(base, "PodDisruptionBudget")
    assert set(pdbs) == set(SERVICES)
    for name, pdb in pdbs.items():
        assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
        fewest = hpas[name]["spec"]["minReplicas"] if name in hpas else None
        fewest = fewest or deployments[name]["spec"]["replicas"]
        assert pdb["spec"]["minAvailable"] < fewest, "a node can still be drained"


def test_the_ingress_reaches_the_gateway_only(production):
    (ingress,) = by_kind(production, "Ingress").values()
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"gateway"}
    assert ingress["spec"]["tls"]


def ingress_peers(policies: dict[str, dict], name: str) -> tuple[set[str], set[str]]:
    """(pod names, namespace names) that the policies let reach pods named NAME."""
    pods, namespaces = set(), set()
    for policy in policies.values():
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if selector and selector != {"app.kubernetes.io/name": name}:
            continue
        for rule in policy["spec"].get("ingress", []):
            assert rule.get("from"), f"{policy['metadata']['name']}: a rule open to everyone"
            for peer in rule["from"]:
                if "podSelector" in peer:
                    assert "namespaceSelector" not in peer
                    pods.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
                else:
                    labels = peer["namespaceSelector"]["matchLabels"]
                    namespaces.add(labels["kubernetes.io/metadata.name"])
    return pods, namespaces


def test_network_policies_admit_only_the_gateway_and_the_callers_the_code_has(base):
    policies = by_kind(base, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {}
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    for name, callers in expected_callers().items():
        pods, namespaces = ingress_peers(policies, name)
        assert pods == callers, name
        outside = {"ingress-nginx", "monitoring"} if name == "gateway" else {"monitoring"}
        assert namespaces == outside, name  # Prometheus scrapes /metrics
        for caller in callers:
            assert name in egress_peers(policies, caller), f"{caller} may not connect to {name}"


def egress_peers(policies: dict[str, dict], name: str) -> set[str]:
    """Pod names that pods named NAME may open connections to."""
    peers = set()
    for policy in policies.values():
        if policy["spec"]["podSelector"].get("matchLabels") != {"app.kubernetes.io/name": name}:
            continue
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                peers.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
    return peers


def test_services_register_by_the_address_dns_gives(base):
    """SERVICE_INSTANCE_URL is the pod's address and port, as the headless Service gives
    it, so the gateway merges the registered instance with the discovered one."""
    config = by_kind(base, "ConfigMap")["django-api-gateway"]["data"]
    assert config["GATEWAY_INTERNAL_URL"] == f"http://gateway:{SERVICES['gateway'].port}"
    for name in UPSTREAMS:
        (container,) = pod_spec(by_kind(base, "Deployment")[name])["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SERVICE_INSTANCE_URL"] == f"http://$(POD_IP):{SERVICES[name].port}"


def test_only_the_projects_and_their_jobs_reach_the_database(base):
    policy = by_kind(base, "NetworkPolicy")["database-ingress"]["spec"]
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]
    (expression,) = peer["podSelector"]["matchExpressions"]
    names = {w["metadata"]["name"] for w in workloads(base)}
    assert set(expression["values"]) == names
    assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]


# Where each egress port may go: PostgreSQL's and Redis' pods in this namespace (a managed
# one: an ipBlock naming it, never the whole Internet), and the cluster's DNS pods.
BACKING_PEERS = {
    5432: {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "database"}}},
    6379: {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "cache"}}},
    53: {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    },
}


def egress_rules(rendered: list[dict]) -> list[tuple[str, dict]]:
    return [
        (policy["metadata"]["name"], rule)
        for policy in by_kind(rendered, "NetworkPolicy").values()
        for rule in policy["spec"].get("egress", [])
    ]


def open_peer(peer: dict) -> bool:
    """A peer that admits any destination: an empty selector pair, or an ipBlock of all."""
    if "ipBlock" in peer:
        return peer["ipBlock"]["cidr"] in ("0.0.0.0/0", "::/0")
    return all(not peer.get(key) for key in ("podSelector", "namespaceSelector"))


@pytest.mark.parametrize("directory", [BASE, PRODUCTION], ids=["base", "production"])
def test_no_egress_rule_opens_a_port_to_any_destination(directory):
    rules = egress_rules(objects(directory))
    assert rules
    for name, rule in rules:
        assert rule.get("to"), f"{name}: {rule.get('ports')} to any destination"
        assert rule.get("ports"), f"{name}: every port"
        assert not any(open_peer(peer) for peer in rule["to"]), f"{name}: {rule['to']}"
        for port in rule["ports"]:
            if port["port"] in BACKING_PEERS:
                assert rule["to"] == [BACKING_PEERS[port["port"]]], f"{name}: {port}"
    ports = {(p["protocol"], p["port"]) for _, rule in rules for p in rule["ports"]}
    assert {("TCP", 5432), ("TCP", 6379), ("UDP", 53), ("TCP", 53)} <= ports


def test_every_workload_reaches_its_database_redis_and_dns_and_nothing_else_does(base):
    """database-egress and redis-egress select exactly the workloads; dns-egress all."""
    policies = by_kind(base, "NetworkPolicy")
    names = {w["metadata"]["name"] for w in workloads(base)}
    for policy, port in (("database-egress", 5432), ("redis-egress", 6379)):
        spec = policies[policy]["spec"]
        (expression,) = spec["podSelector"]["matchExpressions"]
        assert set(expression["values"]) == names, policy
        assert [p["port"] for rule in spec["egress"] for p in rule["ports"]] == [port]
    assert policies["dns-egress"]["spec"]["podSelector"] == {}
    assert "egress" not in policies["default-deny"]["spec"]
    (redis,) = policies["redis-ingress"]["spec"]["ingress"]
    assert set(redis["from"][0]["podSelector"]["matchExpressions"][0]["values"]) == names
