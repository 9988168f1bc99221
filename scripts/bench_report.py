"""What scripts/bench.py makes of its figures: the performance targets, a table, an SVG chart.

The SVG is written by hand (grouped bars, one panel per question) so the benchmark needs
no plotting library.
"""

from __future__ import annotations

import statistics
from html import escape

from scripts.benchlib import spread

COLOURS = {"direct": "#4e79a7", "gateway": "#f28e2b", "floor": "#9c9c9c", "value": "#59a14f"}


def _median(figures: dict, key: str) -> float:
    return figures["median"][key]


def _target(value: float | None, wanted: str, met: bool | None, **more: object) -> dict:
    return {
        "value": None if value is None else round(value, 3),
        "target": wanted,
        "met": met,
        **more,
    }


def targets(results: dict) -> dict:
    """Where each performance target stands in this run (None: the section did not run)."""
    found: dict = {}
    if read := results.get("floors", {}).get("read"):
        ratio = _median(read["service@32"], "rps") / _median(read["floor@32"], "rps")
        found["service_read_vs_floor"] = _target(ratio, ">= 0.9", ratio >= 0.9)
    if proxy := results.get("floors", {}).get("proxy"):
        static = _median(proxy["static@1"], "p50_ms")
        gateway_added = _median(proxy["gateway@1"], "p50_ms") - static
        floor_added = _median(proxy["floor@1"], "p50_ms") - static
        ratio = gateway_added / floor_added if floor_added > 0 else None
        found["gateway_added_p50_vs_floor"] = _target(
            ratio,
            "<= 1.3",
            None if ratio is None else ratio <= 1.3,
            gateway_ms=round(gateway_added, 3),
            floor_ms=round(floor_added, 3),
        )
        for connections in (1, 32):
            gateway = proxy[f"gateway@{connections}"]["median"]["cpu_ms_per_request"]["gateway"]
            floor = proxy[f"floor@{connections}"]["median"]["cpu_ms_per_request"]["floor"]
            ratio = gateway / floor if floor else None
            found[f"gateway_cpu_vs_floor@{connections}"] = _target(
                ratio,
                "<= 1.3",
                None if ratio is None else ratio <= 1.3,
                gateway_ms=gateway,
                floor_ms=floor,
            )
    if detail := results.get("endpoints", {}).get("GET /products/{id}"):
        rounds = [
            gateway["rps"] / direct["rps"]
            for direct, gateway in zip(
                detail["direct@32"]["rounds"], detail["gateway@32"]["rounds"], strict=True
            )
        ]
        found["gateway_vs_direct@32"] = _target(
            statistics.median(rounds),
            "median >= 0.6, every round >= 0.5",
            statistics.median(rounds) >= 0.6 and min(rounds) >= 0.5,
            rounds=[round(r, 3) for r in rounds],
        )
    if keys := results.get("keys"):
        for connections in (32, 1):
            cpu = {
                caller: keys[f"{caller}@{connections}"]["median"]["cpu_ms_per_request"]["gateway"]
                for caller in ("anonymous", "api_key")
            }
            added = cpu["api_key"] - cpu["anonymous"]
            found[f"api_key_cpu_over_anonymous@{connections}"] = _target(
                round(added, 3),
                "<= 0.1 ms",
                added <= 0.1,
                anonymous_ms=cpu["anonymous"],
                api_key_ms=cpu["api_key"],
            )
    if peers := results.get("peers"):
        figures = peer_ratios(peers)
        cpu = figures["gateway"]["cpu_vs_revproxy@32"]
        found["gateway_cpu_vs_revproxy@32"] = _target(
            cpu["median"], "<= 1.0", cpu["median"] <= 1.0, spread=[cpu["min"], cpu["max"]]
        )
        rps = figures["gateway"]["rps_vs_direct@32"]
        found["anonymous_gateway_vs_direct@32"] = _target(
            rps["median"], ">= 0.75", rps["median"] >= 0.75, spread=[rps["min"], rps["max"]]
        )
    if lists := results.get("lists"):
        sizes = sorted(lists, key=int)
        ratio = _median(lists[sizes[-1]], "p50_ms") / _median(lists[sizes[0]], "p50_ms")
        found[f"list_p50_{sizes[-1]}_vs_{sizes[0]}"] = _target(ratio, "<= 1.5", ratio <= 1.5)
    if orders := results.get("orders"):
        counts = sorted(orders, key=int)
        ratio = _median(orders[counts[-1]], "p50_ms") / _median(orders[counts[0]], "p50_ms")
        found[f"orders_p50_{counts[-1]}_vs_{counts[0]}"] = _target(ratio, "<= 1.5", ratio <= 1.5)
    if equal := results.get("orders_page_of_10"):
        counts = sorted(equal, key=int)
        ratio = _median(equal[counts[-1]], "p50_ms") / _median(equal[counts[0]], "p50_ms")
        found[f"orders_p50_{counts[-1]}_vs_{counts[0]}_page_of_10"] = _target(
            ratio, "(the same with 10 rows on both pages)", None
        )
    if instances := results.get("instances"):
        ratio = _median(instances["2"], "rps") / _median(instances["1"], "rps")
        found["two_instances_vs_one"] = _target(ratio, "(no target: shows balancing)", None)
    if up := results.get("memory", {}).get("up"):
        found["up_pss_mb"] = _target(up["pss_mb"], "<= 400", up["pss_mb"] <= 400)
    refused = [figures for figures in _all_runs(results) if figures["non_2xx"] or figures["errors"]]
    found["non_2xx_or_errors"] = _target(len(refused), "0 runs with any", not refused)
    return found


def peer_ratios(peers: dict) -> dict:
    """Per front (nginx, revproxy, gateway, gateway-cached), over the rounds, each figure
    taken round by round: its CPU per request and the product service's at 32
    connections, its req/s over direct's, the p50 it adds at 1 connection, and (the
    gateways) its CPU per request over django-revproxy's."""
    fronts = sorted(
        {name.split("@")[0] for name in peers} - {"direct"},
        key=["nginx", "revproxy", "gateway", "gateway-cached"].index,
    )
    direct32, direct1 = peers["direct@32"]["rounds"], peers["direct@1"]["rounds"]
    found = {}
    for front in fronts:
        at32, at1 = peers[f"{front}@32"]["rounds"], peers[f"{front}@1"]["rounds"]
        cpu = [run["cpu_ms_per_request"]["proxy"] for run in at32]
        figures = {
            "cpu_ms@32": spread(cpu),
            "products_cpu_ms@32": spread([run["cpu_ms_per_request"]["products"] for run in at32]),
            "rps@32": spread([run["rps"] for run in at32]),
            "rps_vs_direct@32": spread(
                [run["rps"] / base["rps"] for run, base in zip(at32, direct32, strict=True)]
            ),
            "added_p50_ms@1": spread(
                [run["p50_ms"] - base["p50_ms"] for run, base in zip(at1, direct1, strict=True)]
            ),
            "cpu_ms@1": spread([run["cpu_ms_per_request"]["proxy"] for run in at1]),
        }
        if front.startswith("gateway") and "revproxy@32" in peers:
            revproxy = [
                run["cpu_ms_per_request"]["proxy"] for run in peers["revproxy@32"]["rounds"]
            ]
            figures["cpu_vs_revproxy@32"] = spread(
                [mine / theirs for mine, theirs in zip(cpu, revproxy, strict=True) if theirs]
            )
        found[front] = figures
    return found


def _peer_lines(peers: dict) -> list[str]:
    def show(figure: dict, digits: int = 2) -> str:
        return (
            f"{figure['median']:.{digits}f} ({figure['min']:.{digits}f}-{figure['max']:.{digits}f})"
        )

    lines = [
        "peers: anonymous GET /products/{id}; each figure round by round, median (min-max)",
        f"{'front':<16}{'CPU ms/req @32':>20}{'products CPU @32':>20}{'req/s / direct @32':>22}"
        f"{'added p50 ms @1':>20}{'CPU / revproxy @32':>22}",
    ]
    for front, figures in peer_ratios(peers).items():
        against = figures.get("cpu_vs_revproxy@32")
        lines.append(
            f"{front:<16}{show(figures['cpu_ms@32']):>20}{show(figures['products_cpu_ms@32']):>20}"
            f"{show(figures['rps_vs_direct@32']):>22}{show(figures['added_p50_ms@1']):>20}"
            f"{show(against) if against else '':>22}"
        )
    return lines


def _all_runs(results: dict):
    def walk(node):
        if isinstance(node, dict):
            if "rounds" in node and "median" in node:
                yield from node["rounds"]
                return
            for value in node.values():
                yield from walk(value)

    yield from walk({k: v for k, v in results.items() if k != "memory"})


# -- the table ------------------------------------------------------------------------------


def _row(label: str, figures: dict) -> str:
    median, low, high = figures["median"], figures["min"], figures["max"]
    cpu = " ".join(f"{name} {ms:.2f}" for name, ms in median["cpu_ms_per_request"].items())
    spread = f"{low['rps']:.0f}-{high['rps']:.0f}"
    return (
        f"{label:<34}{median['rps']:>9.0f} {spread:>11}{median['p50_ms']:>9.2f}"
        f"{median['p99_ms']:>9.2f}{int(median['non_2xx']):>8}{int(median['errors']):>7}  {cpu}"
    )


def table(report: dict) -> str:
    results = report["sections"]
    machine, backend = report["machine"], report["backend"]
    lines = [
        f"machine: {machine['cpus']} CPUs ({machine['cpu_model']}), python {machine['python']}, "
        f"timeit sum(range(10000)) {machine['timeit_sum_range_10000_us']} µs, "
        f"load {machine['load_average']}, {machine['date']}",
        f"backend: {backend['database']}, {backend['cache']}; "
        f"{report['settings']['rounds']} round(s) x {report['settings']['duration_s']} s; "
        "median req/s (min-max over rounds)",
        f"{'target':<34}{'req/s':>9} {'min-max':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'non-2xx':>8}{'errors':>7}  CPU ms/req by process group",
    ]
    for endpoint, targets_ in results.get("endpoints", {}).items():
        for target, figures in targets_.items():
            lines.append(_row(f"{endpoint} {target}", figures))
    for kind, targets_ in results.get("floors", {}).items():
        for target, figures in targets_.items():
            lines.append(_row(f"floor {kind}: {target}", figures))
    for size, figures in results.get("lists", {}).items():
        lines.append(_row(f"GET /products, {size} products @1", figures))
    for count, figures in results.get("orders", {}).items():
        lines.append(_row(f"GET /orders, {count} orders @1", figures))
    for count, figures in results.get("orders_page_of_10", {}).items():
        lines.append(_row(f"GET /orders (10 rows), {count} orders @1", figures))
    for count, figures in results.get("instances", {}).items():
        lines.append(_row(f"gateway, {count} product instance(s) @32", figures))
    for target, figures in results.get("peers", {}).items():
        lines.append(_row(f"peers: {target}", figures))
    if peers := results.get("peers"):
        lines.extend(_peer_lines(peers))
    for target, figures in results.get("keys", {}).items():
        lines.append(_row(f"keys: GET /products/{{id}} {target}", figures))
    for what, why in report.get("skipped", {}).items():
        lines.append(f"skipped {what}: {why}")
    memory = results.get("memory", {})
    for state in ("stack_idle", "stack_loaded"):
        if memory.get(state):
            groups = ", ".join(
                f"{name} {m['rss_mb']:.0f}/{m['pss_mb']:.0f}" for name, m in memory[state].items()
            )
            total = sum(m["pss_mb"] for m in memory[state].values())
            lines.append(f"memory {state} (RSS/PSS MB): {groups}; PSS total {total:.0f}")
    if up := memory.get("up"):
        lines.append(
            f"memory of `up` (embedded default) after {up['requests']} requests: "
            f"RSS {up['rss_mb']:.0f} MB, PSS {up['pss_mb']:.0f} MB, {up['processes']} processes"
        )
    lines.append("targets:")
    for name, target in report["targets"].items():
        verdict = {True: "met", False: "NOT met", None: "-"}[target["met"]]
        extra = {k: v for k, v in target.items() if k not in ("value", "target", "met")}
        lines.append(
            f"  {name:<34} {target['value']!s:>8}  ({target['target']}) {verdict} "
            + (str(extra) if extra else "")
        )
    return "\n".join(lines)


# -- the chart ------------------------------------------------------------------------------


def _bars(x: float, y: float, width: float, height: float, title: str, groups, unit: str) -> str:
    """A grouped bar chart: groups is [(label, [(series, value), ...]), ...]."""
    out = [f'<text x="{x}" y="{y - 8}" font-weight="bold">{escape(title)}</text>']
    values = [value for _, bars in groups for _, value in bars] or [1]
    top = max(values) * 1.15 or 1
    out.append(
        f'<line x1="{x}" y1="{y + height}" x2="{x + width}" y2="{y + height}" stroke="#333"/>'
    )
    slot = width / max(1, len(groups))
    for index, (label, bars) in enumerate(groups):
        bar = slot * 0.8 / max(1, len(bars))
        left = x + index * slot + slot * 0.1
        for number, (series, value) in enumerate(bars):
            tall = height * value / top
            bx = left + number * bar
            colour = COLOURS.get(series, COLOURS["value"])
            out.append(
                f'<rect x="{bx:.1f}" y="{y + height - tall:.1f}" width="{bar * 0.9:.1f}" '
                f'height="{tall:.1f}" fill="{colour}"><title>{escape(series)}: {value:.2f} '
                f"{escape(unit)}</title></rect>"
            )
            out.append(
                f'<text x="{bx + bar * 0.45:.1f}" y="{y + height - tall - 3:.1f}" '
                f'font-size="9" text-anchor="middle">{value:.3g}</text>'
            )
        out.append(
            f'<text x="{left + slot * 0.4:.1f}" y="{y + height + 14}" font-size="10" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    out.append(
        f'<text x="{x}" y="{y + height + 30}" font-size="10" fill="#555">{escape(unit)}</text>'
    )
    return "\n".join(out)


def _m(figures: dict, key: str = "rps") -> float:
    return figures["median"][key]


def svg(report: dict) -> str:
    results = report["sections"]
    panels = []  # (x, width, title, groups, unit): one row, each panel its own scale
    throughput = [
        (
            endpoint.split(" ", 1)[1] + f" ({endpoint.split(' ')[0]})",
            [(side, _m(targets_[f"{side}@32"])) for side in ("direct", "gateway")],
        )
        for endpoint, targets_ in results.get("endpoints", {}).items()
    ]
    if throughput:
        panels.append((40, 600, "Throughput at 32 connections", throughput, "req/s, median"))
    floors = results.get("floors", {})
    against = []
    if read := floors.get("read"):
        against.append(
            (
                "read: floor, service",
                [("floor", _m(read["floor@32"])), ("direct", _m(read["service@32"]))],
            )
        )
    if proxy := floors.get("proxy"):
        against.append(
            (
                "static: floor, gateway",
                [("floor", _m(proxy["floor@32"])), ("gateway", _m(proxy["gateway@32"]))],
            )
        )
    if against:
        panels.append((700, 320, "Against the floors, 32 connections", against, "req/s, median"))
    small = []
    if lists := results.get("lists"):
        small.append(
            (
                "GET /products p50, products",
                [(f"{int(k):,}", [("value", _m(v, "p50_ms"))]) for k, v in lists.items()],
                "ms at 1 connection",
            )
        )
    if orders := results.get("orders"):
        small.append(
            (
                "GET /orders p50, orders",
                [(f"{int(k):,}", [("value", _m(v, "p50_ms"))]) for k, v in orders.items()],
                "ms at 1 connection",
            )
        )
    if instances := results.get("instances"):
        small.append(
            (
                "Product instances",
                [(k, [("gateway", _m(v))]) for k, v in instances.items()],
                "req/s via gateway, 32 conn.",
            )
        )
    memory = results.get("memory", {})
    if memory.get("stack_idle"):
        states = [("idle", memory["stack_idle"]), ("loaded", memory.get("stack_loaded") or {})]
        bars = [
            (state, [("value", sum(m["pss_mb"] for m in groups.values()))])
            for state, groups in states
            if groups
        ]
        if up := memory.get("up"):
            bars.append(("up (embedded)", [("value", up["pss_mb"])]))
        small.append(("Memory (PSS, summed)", bars, "MB"))
    height = 60 + (330 if panels else 0) + (300 if small else 0)
    body = []
    y = 50
    for x, width, title, groups, unit in panels:
        body.append(_bars(x, y, width, 230, title, groups, unit))
    y += 330 if panels else 0
    for index, (title, groups, unit) in enumerate(small):
        body.append(_bars(40 + index * 250, y, 210, 200, title, groups, unit))
    machine = report["machine"]
    legend = "".join(
        f'<rect x="{600 + i * 90}" y="12" width="10" height="10" fill="{COLOURS[s]}"/>'
        f'<text x="{614 + i * 90}" y="21" font-size="11">{s}</text>'
        for i, s in enumerate(("direct", "gateway", "floor"))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="1060" height="{height}" '
        f'font-family="sans-serif" font-size="12">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n'
        f'<text x="40" y="20" font-size="13">bench {escape(machine["date"])}: {machine["cpus"]} '
        f"CPUs, {escape(report['backend']['database'])}, {escape(report['backend']['cache'])}"
        f"</text>\n{legend}\n" + "\n".join(body) + "\n</svg>\n"
    )
