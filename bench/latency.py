"""Detection latency of every alert family, measured with the real promtool.

Run: `PYTHONPATH=. .venv/bin/python bench/latency.py [--promtool PATH]` (about a minute on 2
cores per promtool). Prints the Markdown tables of docs/families.md for that promtool, headed
with its version. `--promtool` defaults to rulegen's own choice ($PROMTOOL, PATH, then
.tools/bin/promtool); `make bootstrap` puts each release line in .tools/prometheus-<line>/bin/:

    for v in 2.42 3.5; do
        PYTHONPATH=. .venv/bin/python bench/latency.py --promtool .tools/prometheus-$v/bin/promtool
    done

Each case is a promtool test group: a service from the inventory below (default settings:
scrape 1m, gc_period 5m) with steady series for W + G, then a leak at k x the family's threshold.
One expression per group finds the first evaluation at which the alert fired:

    min_over_time(timestamp(ALERTS{alertname="X", alertstate="firing"})[<end>:1m])

It is asserted to be empty, so promtool prints what it got (the first firing time, in seconds)
in its failure output; a group that never fires passes. Latency = first firing - leak start.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rulegen import promtool, rulefile  # noqa: E402
from rulegen.cases.builder import CaseBuilder  # noqa: E402
from rulegen.cases.groups import ExprTest, Group  # noqa: E402
from rulegen.cases.memory_growth import FAMILIES as GROWTH_FAMILIES  # noqa: E402
from rulegen.cases.settings import MIB, MIN  # noqa: E402
from rulegen.cases.shape import q  # noqa: E402
from rulegen.generate import compile_inventory  # noqa: E402
from rulegen.model import ServicePlan  # noqa: E402
from rulegen.render import environment  # noqa: E402
from rulegen.synth import add, constant, linear_leak, sawtooth, stale_after  # noqa: E402
from rulegen.units import format_duration as dur  # noqa: E402
from rulegen.writer import write_tree  # noqa: E402

INVENTORY = """\
version: 1
defaults: {owner: bench, scrape_interval: 1m, gc_period: 5m}
services:
  - name: go-svc
    runtime: go
    memory_limit: {source: static, size: 512Mi}
  - name: jvm-svc
    runtime: jvm
    memory_limit: {source: static, size: 512Mi}
  - name: node-svc
    runtime: nodejs
    convention: prometheus
    memory_limit: {source: static, size: 512Mi}
"""
RATES = (1.0, 1.5, 2.0, 3.0, 10.0)
FORECAST_RATES = (0.5, 1.0, 3.0, 10.0)
WORK = HERE / "out" / "latency"
FIRST = re.compile(r'# (?P<name>\S+)", time: .*?\n\s+exp: nil\n\s+got: \{.*\} (?P<v>\S+)')


def first_firing(c: CaseBuilder, alertname: str, end: int) -> ExprTest:
    return ExprTest(f'min_over_time(timestamp(ALERTS{{alertname="{alertname}", '
                    f'alertstate="firing"}})[{dur(end)}:1m])', end)


def growth_groups(c: CaseBuilder) -> tuple[list[Group], dict[str, tuple[int, float]]]:
    """Clean ramp and ramp under the GC sawtooth, at each rate."""
    a, p, S = c.alert, c.plan, c.settings.S
    G, W, F = a.period_s, a.window_s, a.for_s
    sig = p.signals[a.family.signal]
    mem = a.family.threshold_kind == "bytes_per_hour"
    unit = MIB if mem else 1.0
    T, U = a.threshold / 3600, a.threshold * W / 3600
    base = q(max(4 * U, 64 * MIB if mem else 20), unit)
    A = q(5 * U, unit)
    e = c.settings.up(W + G)
    end = c.settings.up(e + 4 * W + F)
    n = c.settings.n(end)
    groups, starts = [], {}
    for shape in ("ramp", "sawtooth"):
        steady = constant(base, step_s=S, n=n)
        if shape == "sawtooth":
            steady = add(steady, sawtooth(0, A, G, step_s=S, n=n))
        for k in RATES:
            name = f"{shape}/{k:g}x"
            vals = add(steady, linear_leak(k * T, e, step_s=S, n=n))
            groups.append(c.group(name, name, c.input(sig, vals) + c.limit_for("set", n)
                                  + c.background(n, [sig]),
                                  expr_tests=[first_firing(c, a.family.alertname, end)]))
            starts[f"{a.family.id}/{name}"] = (e, 0.0)
    return groups, starts


def forecast_groups(c: CaseBuilder, growth_thr: float
                    ) -> tuple[list[Group], dict[str, tuple[int, float]]]:
    """Steady at 50% of the limit (sawtooth peaks at 60%), then a leak at k x the memory-growth
    threshold; also records when the peaks reach the limit (the OOM kill)."""
    a, S = c.alert, c.settings.S
    G, W = a.period_s, a.window_s
    assert c.used is not None
    lo, amp = round(0.5 * c.lim), round(0.1 * c.lim)
    e = c.settings.up(W + G)
    groups, starts = [], {}
    for k in FORECAST_RATES:
        r = k * growth_thr / 3600
        oom = (c.lim - lo - amp) / r
        end = c.settings.up(e + oom + 10 * MIN)
        n = c.settings.n(end)
        vals = add(sawtooth(lo, amp, G, step_s=S, n=n), linear_leak(r, e, step_s=S, n=n))
        name = f"sawtooth/{k:g}x"
        groups.append(c.group(name, name, c.input(c.used, vals) + c.limit_for("set", n)
                              + c.background(n, [c.used]),
                              expr_tests=[first_firing(c, a.family.alertname, end)]))
        starts[f"{a.family.id}/{name}"] = (e, oom)
    return groups, starts


def other_groups(c: CaseBuilder) -> tuple[list[Group], dict[str, tuple[int, float]]]:
    """limit-ratio: memory steps from 50% to 90% of the limit; telemetry-missing: the heap
    series stops. Latency from the step / the last sample."""
    a, p, S = c.alert, c.plan, c.settings.S
    e = c.settings.up(30 * MIN)
    end = c.settings.up(e + 2 * a.window_s + 2 * a.for_s)
    n = c.settings.n(end)
    if a.family.id == "limit-ratio":
        assert c.used is not None
        vals = add(constant(round(0.5 * c.lim), step_s=S, n=n),
                   [0.0 if i * S < e else round(0.4 * c.lim) for i in range(n)])
        sig = c.used
        name = "step-to-90%"
    else:
        sig = p.signals["heap"]
        vals = stale_after(constant(round(0.3 * c.lim), step_s=S, n=n), e, step_s=S)
        name = "heap-vanishes"
    g = c.group(name, name, c.input(sig, vals) + c.limit_for("set", n) + c.background(n, [sig]),
                expr_tests=[first_firing(c, a.family.alertname, end)])
    return [g], {f"{a.family.id}/{name}": (e, 0.0)}


def build(plan: ServicePlan, rules_text: str, families: set[str]
          ) -> tuple[list[Group], dict[str, tuple[int, float]]]:
    idx = rulefile.parse(rules_text)
    groups: list[Group] = []
    starts: dict[str, tuple[int, float]] = {}
    growth = next((x for x in plan.alerts if x.family.id == "memory-growth"), None)
    for alert in plan.alerts:
        if alert.family.id not in families:
            continue
        c = CaseBuilder(plan, alert, idx)
        if alert.family.id in GROWTH_FAMILIES:
            gs, st = growth_groups(c)
        elif alert.family.id == "limit-forecast":
            assert growth is not None
            gs, st = forecast_groups(c, growth.threshold)
        else:
            gs, st = other_groups(c)
        groups += gs
        starts.update(st)
    return groups, starts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promtool", metavar="PATH", default=None,
                    help="promtool binary (default: $PROMTOOL, PATH, then .tools/bin/promtool)")
    args = ap.parse_args()
    pt = promtool.find_promtool(args.promtool)
    work = WORK / ".".join(map(str, pt.version))  # one directory per version: runs can overlap
    work.mkdir(parents=True, exist_ok=True)
    inv = work / "inventory.yaml"
    inv.write_text(INVENTORY)
    out = work / "rules_out"
    files = compile_inventory(inv, out).files
    write_tree(out, {k: v for k, v in files.items() if k.startswith("rules/")})
    wanted = {"go-svc": {"memory-growth", "goroutine-leak", "limit-ratio", "limit-forecast",
                         "telemetry-missing"},
              "jvm-svc": {"thread-leak"}, "node-svc": {"handle-leak"}}
    env = environment()
    tests, starts, plans = [], {}, {}
    for plan in compile_inventory(inv, out).loaded.plans:
        rel = f"rules/{plan.runtime}/{plan.name}.yml"
        groups, st = build(plan, files[rel], wanted[plan.name])
        path = work / f"{plan.name}.test.yml"
        path.write_text(env.get_template("tests/service.yml.j2").render(
            svc=plan, source="bench/latency.py", rules_rel=str(out / rel), groups=groups,
            rule_files=[str(out / rel)],
            evaluation_interval=60))
        tests.append(path)
        starts.update(st)
        plans[plan.name] = plan
    fired: dict[str, float] = {}
    for res in promtool.test_rules(pt, tests):
        for m in FIRST.finditer(res.output):
            fired[m["name"]] = float(m["v"])
    version = ".".join(map(str, pt.version))
    print(f"<!-- bench/latency.py --promtool {pt.path}: {pt.version_text} -->")
    print()
    report(starts, fired, plans, f"promtool {version}")


def minutes(s: float) -> str:
    return f"{s / 60:.0f} min"


def report(starts: dict[str, tuple[int, float]], fired: dict[str, float],
           plans: dict[str, ServicePlan], version: str) -> None:
    print(f"### Growth families, {version} (default settings: window 2h, for 15m, gc_period 5m, "
          "scrape 1m)")
    print()
    print("Latency from the leak start to firing; `-` = not fired within 4 windows.")
    print()
    head = " | ".join(f"{k:g}x" for k in RATES)
    print(f"| family | shape | {head} |")
    print("|---|---|" + "---|" * len(RATES))
    for fam in GROWTH_FAMILIES:
        for shape in ("ramp", "sawtooth"):
            cells = []
            for k in RATES:
                key = f"{fam}/{shape}/{k:g}x"
                if key not in starts:
                    continue
                cells.append(minutes(fired[key] - starts[key][0]) if key in fired else "-")
            if cells:
                print(f"| {fam} | {shape} | {' | '.join(cells)} |")
    print()
    print(f"### limit-forecast, {version} (512Mi limit, 50% + 10% sawtooth, leak at k x 10MiB/h)")
    print()
    print("| leak | fires after | peaks reach the limit after | warning ahead of the OOM |")
    print("|---|---|---|---|")
    for k in FORECAST_RATES:
        key = f"limit-forecast/sawtooth/{k:g}x"
        e, oom = starts[key]
        if key in fired:
            lat = fired[key] - e
            print(f"| {k:g}x | {minutes(lat)} | {minutes(oom)} | {minutes(oom - lat)} |")
        else:
            print(f"| {k:g}x | - | {minutes(oom)} | - |")
    print()
    print(f"### Level families, {version}")
    print()
    print("| family | event | fires after |")
    print("|---|---|---|")
    for key in ("limit-ratio/step-to-90%", "telemetry-missing/heap-vanishes"):
        fam, event = key.split("/")
        cell = minutes(fired[key] - starts[key][0]) if key in fired else "-"
        print(f"| {fam} | {event} | {cell} |")


if __name__ == "__main__":
    main()
