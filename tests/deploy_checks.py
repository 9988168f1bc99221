"""What every deployment file must say about each service in a registry.

Each function takes a registry (the real one by default) and returns what is missing, one
line per fact, empty when nothing is: the deployment tests assert `== []`, and
tests/test_registry_new_service.py lists what a fifth service needs (a checklist, in
docs/architecture.md's "Add a service").
"""

from __future__ import annotations

import re
import tomllib

import yaml

from common.topology import GATEWAY, SERVICES
from devtools.harness import REPO_ROOT
from devtools.launcher.plan import Registry, start_order
from devtools.launcher.suites import import_contracts
from tests.k8s_render import pod_spec, render

DEPLOY = REPO_ROOT / "deploy"
# The project serving each internal endpoint of common.identity.service_callers
# (tests/test_deploy_k8s.py
# checks that its urls.py names it).
ENDPOINT_OWNERS = {
    "/internal/reservations": "products",
    "/internal/users/authenticate": "users",
    "/internal/users/status": "users",
    "/internal/registry": "gateway",
    "/internal/cache/purge": "gateway",
}


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


def _pairs(value: str) -> list[str]:
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


def database_role_url(service, host: str, password: str) -> str:
    """A project's database URL: its own role, owner of its own database only."""
    return f"postgres://{service.database}:{password}@{host}:5432/{service.database}"


def _env(container: dict) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def _migrate_loop(services: Registry) -> str:
    """The loop compose's and Kubernetes' migrate run: the start order (the gateway last)."""
    return f"for project in {' '.join(services[n].package for n in start_order(services))};"


def compose_gaps(services: Registry = SERVICES) -> list[str]:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    declared = compose["services"]
    gaps = []
    migrate = declared["migrate"]
    if _migrate_loop(services) not in " ".join(migrate["command"]):
        gaps.append(f"docker-compose.yml: migrate runs `{_migrate_loop(services)}`")
    gateway = declared.get(GATEWAY, {})
    for name, service in services.items():
        for var in (service.database_url_var, service.secret_key_var):
            if var not in migrate["environment"]:
                gaps.append(f"docker-compose.yml: migrate sets {var}")
        if not service.is_gateway:
            if compose["x-env"].get(service.url_var) != f"http://{name}:{service.port}":
                gaps.append(f"docker-compose.yml: x-env sets {service.url_var}")
            wanted = f"dns+http://{name}:{service.port}"
            if gateway.get("environment", {}).get(service.url_var) != wanted:
                gaps.append(f"docker-compose.yml: the gateway sets {service.url_var}={wanted}")
            if gateway.get("depends_on", {}).get(name) != {"condition": "service_healthy"}:
                gaps.append(f"docker-compose.yml: the gateway depends on {name} being healthy")
        spec = declared.get(name)
        if spec is None:
            gaps.append(f"docker-compose.yml: a service {name!r}")
            continue
        env = spec.get("environment", {})
        wanted_env = {
            "PORT": str(service.port),
            "DJANGO_SETTINGS_MODULE": service.settings_module,
            "SECRET_KEY": f"${{{service.secret_key_var}:?set {service.secret_key_var} in .env}}",
        }
        if not service.is_gateway:
            wanted_env["GATEWAY_INTERNAL_URL"] = f"http://gateway:{services[GATEWAY].port}"
        for var, value in wanted_env.items():
            if env.get(var) != value:
                gaps.append(f"docker-compose.yml: {name} sets {var}={value}")
        password = f"${{{service.env_prefix}_DB_PASSWORD}}"
        wanted_url = database_role_url(service, "postgres", password)
        if env.get(service.database_url_var) != wanted_url:
            gaps.append(f"docker-compose.yml: {name} sets {service.database_url_var}={wanted_url}")
        if migrate["environment"].get(service.database_url_var) != wanted_url:
            gaps.append(f"docker-compose.yml: migrate sets {service.database_url_var}={wanted_url}")
        role_password = declared["postgres"]["environment"].get(f"{service.env_prefix}_DB_PASSWORD")
        if not str(role_password).startswith(f"${{{service.env_prefix}_DB_PASSWORD:?"):
            gaps.append(f"docker-compose.yml: postgres is given {service.env_prefix}_DB_PASSWORD")
        own = f"{service.env_prefix}_SERVICE_TOKEN"
        if env.get("SERVICE_TOKEN") != f"${{{own}:?set {own} in .env}}":
            gaps.append(f"docker-compose.yml: {name} sends its own ${{{own}:?...}}")
        if _pairs(env.get("SERVICE_TOKENS", "")) != compose_token_pairs(name, services):
            wanted_pairs = ",".join(compose_token_pairs(name, services))
            gaps.append(f"docker-compose.yml: {name} sets SERVICE_TOKENS={wanted_pairs}")
        if spec.get("command") != [name]:
            gaps.append(f"docker-compose.yml: {name} runs command [{name!r}]")
        if f"127.0.0.1:{service.port}/ready" not in " ".join(spec["healthcheck"]["test"]):
            gaps.append(f"docker-compose.yml: {name}'s healthcheck asks :{service.port}/ready")
    return gaps


def dockerfile_gaps(services: Registry = SERVICES) -> list[str]:
    text = (REPO_ROOT / "Dockerfile").read_text()
    loop = re.search(r"for project in ([\w ]+); do", text)
    built = set(loop.group(1).split()) if loop else set()
    gaps = []
    for service in services.values():
        copy = f"COPY {service.package} ./{service.package}"
        if text.count(f"\n{copy}\n") != 2:
            gaps.append(f"Dockerfile: `{copy}` in both stages")
        if service.package not in built:
            gaps.append(f"Dockerfile: collectstatic's loop names {service.package}")
    return gaps


def postgres_init_gaps(services: Registry = SERVICES) -> list[str]:
    """Each project's role (no superuser, its password from the environment), the database
    it owns, and no CONNECT for anyone else (tests/test_deploy_postgres_roles.py runs it)."""
    lines = set((DEPLOY / "postgres-init.sql").read_text().splitlines())
    gaps = []
    for s in services.values():
        name, variable = s.database, f"{s.database}_password"
        wanted = [
            f"\\getenv {variable} {s.env_prefix}_DB_PASSWORD",
            f"CREATE ROLE {name} LOGIN PASSWORD :'{variable}' NOSUPERUSER NOCREATEDB NOCREATEROLE;",
            f"CREATE DATABASE {name} OWNER {name};",
            f"REVOKE ALL ON DATABASE {name} FROM PUBLIC;",
        ]
        gaps += [f"deploy/postgres-init.sql: {line}" for line in wanted if line not in lines]
    return gaps


def env_example_gaps(services: Registry = SERVICES) -> list[str]:
    text = (REPO_ROOT / ".env.example").read_text()
    wanted = []
    for service in services.values():
        wanted += [f"{service.secret_key_var}=", f"{service.database_url_var}="]
        # docker-compose.yml's: the project's service token and database role's password.
        wanted += [f"{service.env_prefix}_SERVICE_TOKEN=", f"{service.env_prefix}_DB_PASSWORD="]
        if not service.is_gateway:
            wanted.append(f"{service.url_var}={service.default_url}")
    lines = text.splitlines()
    return [f".env.example: {w}" for w in wanted if not any(line.startswith(w) for line in lines)]


def monitoring_gaps(services: Registry = SERVICES) -> list[str]:
    monitoring = DEPLOY / "monitoring"
    prometheus = yaml.safe_load((monitoring / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    alerts = (monitoring / "alerts.yml").read_text()
    down = set(re.search(r'up\{job=~"([\w|]+)"\} == 0', alerts).group(1).split("|"))
    alloy = (monitoring / "config.alloy").read_text()
    kept = set(re.search(r'regex\s+= "([\w|]+)"[^=]*?action\s+= "keep"', alloy).group(1).split("|"))
    gaps = []
    for name, service in services.items():
        sd = jobs.get(name, {}).get("dns_sd_configs", [{}])[0]
        if sd.get("names") != [name] or sd.get("port") != service.port:
            gaps.append(f"deploy/monitoring/prometheus.yml: a job {name!r} on port {service.port}")
        if name not in down:
            gaps.append(f"deploy/monitoring/alerts.yml: InstanceDown watches job {name!r}")
        if name not in kept:
            gaps.append(f"deploy/monitoring/config.alloy: keeps the lines of {name!r}")
    return gaps


def k8s_gaps(services: Registry = SERVICES) -> list[str]:
    rendered = render(DEPLOY / "k8s" / "base")
    kinds: dict[str, dict[str, dict]] = {}
    for obj in rendered:
        kinds.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    config = kinds["ConfigMap"]["django-api-gateway"]["data"]
    secret = kinds["Secret"]["django-api-gateway"]["stringData"]
    (migrate,) = pod_spec(kinds["Job"]["migrate"])["containers"]
    gateway = kinds["Deployment"].get(GATEWAY)
    gateway_env = _env(pod_spec(gateway)["containers"][0]) if gateway else {}
    policies = kinds["NetworkPolicy"]
    where = "deploy/k8s/base"
    gaps = []
    if _migrate_loop(services) not in migrate["command"][-1]:
        gaps.append(f"{where}/migrate-job.yaml: runs `{_migrate_loop(services)}`")
    for name, service in services.items():
        for var in (service.database_url_var, service.secret_key_var):
            if var not in secret:
                gaps.append(f"{where}/secrets.yaml: a placeholder {var}")
            if var not in _env(migrate):
                gaps.append(f"{where}/migrate-job.yaml: sets {var}")
        wanted = [("Deployment", name), ("Service", name), ("PodDisruptionBudget", name)]
        if not service.is_gateway:
            wanted.append(("Service", f"{name}-headless"))
        for kind, object_name in wanted:
            if object_name not in kinds.get(kind, {}):
                gaps.append(f"{where}/{name}.yaml (in kustomization.yaml): {kind} {object_name}")
        for policy in (f"{name}-ingress", f"{name}-egress"):
            if policy not in policies:
                gaps.append(f"{where}/network-policies.yaml: NetworkPolicy {policy}")
        user = secret.get(service.database_url_var, "").split("//", 1)[-1].split(":", 1)[0]
        if service.database_url_var in secret and user != service.database:
            gaps.append(
                f"{where}/secrets.yaml: {service.database_url_var} as role {service.database}"
            )
        for key in (
            f"{service.env_prefix}_SERVICE_TOKEN",
            f"{service.env_prefix}_SERVICE_TOKEN_ACCEPTED",
        ):
            if key not in secret:
                gaps.append(f"{where}/secrets.yaml: a placeholder {key}")
        if name in kinds["Deployment"]:
            (container,) = pod_spec(kinds["Deployment"][name])["containers"]
            env = _env(container)
            if env.get("PORT") != str(service.port) or container["args"] != [name]:
                gaps.append(f"{where}/{name}.yaml: runs [{name!r}] on PORT {service.port}")
            gaps += _k8s_token_gaps(f"{where}/{name}.yaml", container, name, services)
        if not service.is_gateway:
            if config.get(service.url_var) != f"http://{name}:{service.port}":
                gaps.append(f"{where}/config.yaml: {service.url_var}")
            wanted_url = f"dns+http://{name}-headless:{service.port}"
            if gateway_env.get(service.url_var) != wanted_url:
                gaps.append(f"{where}/gateway.yaml: {service.url_var}={wanted_url}")
            egress = policies.get(f"{GATEWAY}-egress", {}).get("spec", {}).get("egress", [])
            reached = {
                peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
                for rule in egress
                for peer in rule.get("to", [])
            }
            if name not in reached:
                gaps.append(f"{where}/network-policies.yaml: gateway-egress reaches {name}")
    return gaps


def _k8s_token_gaps(where: str, container: dict, name: str, services: Registry) -> list[str]:
    """The Deployment sends its own token and accepts exactly its callers' (secret keys)."""
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    gaps = []
    if refs.get("SERVICE_TOKEN") != f"{services[name].env_prefix}_SERVICE_TOKEN":
        gaps.append(f"{where}: SERVICE_TOKEN from {services[name].env_prefix}_SERVICE_TOKEN")
    for caller in accepted_callers(name, services):
        var = f"{services[caller].env_prefix}_SERVICE_TOKEN"
        for key in (var, f"{var}_ACCEPTED"):
            if refs.get(key) != key:
                gaps.append(f"{where}: {key} from the Secret's {key}")
    if _pairs(_env(container).get("SERVICE_TOKENS") or "") != k8s_token_pairs(name, services):
        gaps.append(f"{where}: SERVICE_TOKENS={','.join(k8s_token_pairs(name, services))}")
    return gaps


def import_contract_gaps(services: Registry = SERVICES) -> list[str]:
    """pyproject.toml's import-linter section against what the registry implies."""
    actual = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    wanted = import_contracts(services)
    gaps = [
        f"pyproject.toml: root_packages lists {p}"
        for p in wanted["root_packages"]
        if p not in actual["root_packages"]
    ]
    contracts = {c["name"]: c for c in actual["contracts"]}
    for contract in wanted["contracts"]:
        present = contracts.get(contract["name"], {})
        for key, value in contract.items():
            if isinstance(value, list):
                gaps += [
                    f"pyproject.toml: {key} of {contract['name']!r} lists {item}"
                    for item in value
                    if item not in present.get(key, [])
                ]
    return gaps


def deployment_gaps(services: Registry = SERVICES) -> list[str]:
    """Everything the deployment files and the lint contracts still lack for SERVICES."""
    return [
        *import_contract_gaps(services),
        *compose_gaps(services),
        *dockerfile_gaps(services),
        *postgres_init_gaps(services),
        *env_example_gaps(services),
        *monitoring_gaps(services),
        *k8s_gaps(services),
    ]
