"""The gateway of this tree against the gateway of another commit, side by side.

    .venv/bin/python scripts/benchmark_gateway_versions.py --before REV [--rounds 5]
                                                          [--duration 5]

One product service (this tree's) and two gateways in front of it: this tree's, and REV's
(`git archive REV` unpacked into a temp dir, started from there with the same
interpreter, settings and secrets). Production settings, 2 workers x 4 threads, the
response cache off (every request is forwarded), limits raised, Redis when one answers
on 127.0.0.1:6379. wrk on an anonymous GET /products/{id} at 32 and at 1 connection,
direct and through each gateway, the targets taking turns in every round (the order
reversed every other round); printed per target: req/s, p50, CPU ms per request of the
gateway's process group and the product's, as medians with min-max, and the ratios
after/before taken round by round. Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.harness import (
    REPO_ROOT,
    ServiceProcess,
    free_port,
    new_product,
    start_gateway,
    start_stack,
)
from scripts.benchlib import answers, process_tree, spread, wrk, wrk_installed

UNLIMITED = "100000000/min"


def unpack(rev: str, into: Path) -> Path:
    """The tree of REV (tracked files only) under INTO."""
    archive = into / "tree.tar"
    subprocess.run(  # noqa: S603 -- our own arguments
        ["git", "archive", "--format=tar", "-o", str(archive), rev],  # noqa: S607
        cwd=REPO_ROOT,
        check=True,
    )
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    if not wrk_installed():
        print("needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    env = {
        "WEB_CONCURRENCY": "2",
        "WEB_THREADS": "4",
        "GATEWAY_CACHE_SECONDS": "0",
        "GATEWAY_RATE_ANON": UNLIMITED,
        "GATEWAY_RATE_USER": UNLIMITED,
        "LOG_LEVEL": "INFO",
    }
    if answers("127.0.0.1", 6379):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/11"
    root = Path(tempfile.mkdtemp(prefix="bench-versions-"))
    tree = unpack(args.before, root)
    stack = start_stack(root / "stack", ["products"], env=env)
    try:
        product = new_product(stack, stock=10)
        path = f"/products/{product['id']}"
        after = start_gateway(stack, "gateway-after")
        port = free_port()
        before = ServiceProcess(
            "gateway",
            port,
            {
                **after.env,
                "PORT": str(port),
                "VAR_DIR": str(root / "gateway-before"),
                "CACHE_KEY_PREFIX": f"{stack.base_env['CACHE_KEY_PREFIX']}:gateway-before",
            },
            root / "gateway-before.log",
            tree=tree,
        )
        stack.services["gateway-before"] = before
        before.start(migrate=False)
        products = stack["products"]
        product_group = {"products": lambda: process_tree(products.process.pid)}
        targets = {}
        for connections in (32, 1):
            targets[f"direct@{connections}"] = (products.url, connections, product_group)
            for name, gateway in (("before", before), ("after", after)):
                targets[f"{name}@{connections}"] = (
                    gateway.url,
                    connections,
                    {**product_group, "gateway": lambda g=gateway: process_tree(g.process.pid)},
                )
        for url, _, _ in targets.values():  # warm-up
            wrk(url + path, connections=4, duration=1)
        runs: dict[str, list[dict]] = {name: [] for name in targets}
        for round_number in range(args.rounds):
            order = list(targets) if round_number % 2 == 0 else list(reversed(targets))
            for name in order:
                url, connections, groups = targets[name]
                figures = wrk(
                    url + path, connections=connections, duration=args.duration, groups=groups
                )
                if figures["non_2xx"] or figures["errors"]:
                    raise RuntimeError(f"{name}: failed requests: {figures}")
                runs[name].append(figures)
                cpu = " ".join(f"{g} {ms:.3f}" for g, ms in figures["cpu_ms_per_request"].items())
                print(
                    f"round {round_number + 1} {name:10} {figures['rps']:8.0f} req/s "
                    f"p50 {figures['p50_ms']:6.2f} ms  CPU ms/req: {cpu}",
                    flush=True,
                )
    finally:
        stack.stop()
    report: dict = {"before": args.before}
    for name, figures in runs.items():
        report[name] = {
            "rps": spread([f["rps"] for f in figures]),
            "p50_ms": spread([f["p50_ms"] for f in figures]),
            **{
                f"cpu_ms_{group}": spread([f["cpu_ms_per_request"][group] for f in figures])
                for group in figures[0]["cpu_ms_per_request"]
            },
        }
    for connections in (32, 1):
        pairs = list(zip(runs[f"after@{connections}"], runs[f"before@{connections}"], strict=True))
        direct = runs[f"direct@{connections}"]
        report[f"after/before@{connections}"] = {
            "gateway_cpu": spread(
                [
                    a["cpu_ms_per_request"]["gateway"] / b["cpu_ms_per_request"]["gateway"]
                    for a, b in pairs
                ]
            ),
            "rps": spread([a["rps"] / b["rps"] for a, b in pairs]),
            "added_p50": spread(
                [
                    (a["p50_ms"] - d["p50_ms"]) / (b["p50_ms"] - d["p50_ms"])
                    for (a, b), d in zip(pairs, direct, strict=True)
                    if b["p50_ms"] - d["p50_ms"] > 0
                ]
                or [float("nan")]
            ),
        }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
