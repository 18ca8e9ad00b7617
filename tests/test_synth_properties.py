"""Property tests of the growth design with the real promtool: random healthy series within the
documented bounds (docs/families.md, "memory-growth") never fire; random leaks above the
threshold always fire within the documented latency.

The service has the default settings (window W=2h, for F=15m, gc_period G=5m, scrape 1m,
threshold T=10MiB/h). Each hypothesis example is a batch of series, one test group each, in
one promtool run; a failing group names its case.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulegen import promtool, rulefile
from rulegen.cases.builder import CaseBuilder
from rulegen.cases.groups import Group
from rulegen.generate import compile_inventory
from rulegen.model import ServicePlan
from rulegen.render import environment
from rulegen.synth import (
    STALE,
    Sample,
    add,
    clip_min,
    constant,
    daily_curve,
    linear_leak,
    noise,
    restart,
    sawtooth,
    step_change,
    stepwise_leak,
    warmup,
    with_gaps,
)

pytestmark = [pytest.mark.promtool, pytest.mark.slow]

MIB, MIN, HOUR, DAY = 2**20, 60, 3600, 86400
S, G, W, F = 60, 5 * MIN, 2 * HOUR, 15 * MIN
T = 10 * MIB  # per hour
U = T * W // HOUR  # growth over one window at the threshold: 20MiB
ALERT = "MemoryLeakSuspected"

INVENTORY = """\
version: 1
defaults: {owner: prop, scrape_interval: 1m, gc_period: 5m}
services:
  - name: prop
    runtime: go
    memory_limit: {source: none}
    alerts:
      goroutine-leak: {disabled: true}
"""

# The documented bounds of a healthy series (docs/families.md).
BOUNDS = {
    "short_gc_period": (2 * MIN, G),  # any amplitude up to 10 windows of threshold growth
    "short_gc_amplitude": 10 * U,
    "long_gc_period": (G + MIN, 4 * HOUR),  # in-cycle slope at most 0.8 T
    "slope": 0.8,
    "warmup": W // 4,  # a deploy's or restart's warm-up lasts at most W/4, any height
    "noise": U // 4,
}


@dataclass(frozen=True)
class Case:
    name: str
    values: list[Sample]
    assert_at: int  # healthy: end of series; leak: when it must be firing
    fires: bool
    what: str = ""  # a description, for the failure message


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[ServicePlan, Path, rulefile.RuleFile]:
    d = tmp_path_factory.mktemp("prop")
    inv = d / "inventory.yaml"
    inv.write_text(INVENTORY)
    out = compile_inventory(inv, d / "out")
    plan = out.loaded.plans[0]
    rel = f"rules/{plan.runtime}/{plan.name}.yml"
    (d / "rules.yml").write_text(out.files[rel])
    alert = next(a for a in plan.alerts if a.family.id == "memory-growth")
    assert (alert.window_s, alert.for_s, alert.threshold, plan.gc_s) == (W, F, T, G)
    return plan, d / "rules.yml", rulefile.parse(out.files[rel])


def run_cases(service: tuple[ServicePlan, Path, rulefile.RuleFile], cases: list[Case],
              tmp: Path) -> set[str]:
    """Names of the cases whose expectation fails under promtool."""
    plan, rules, index = service
    alert = next(a for a in plan.alerts if a.family.id == "memory-growth")
    c = CaseBuilder(plan, alert, index)
    sig = plan.signals["heap"]
    labels = c.result_labels(sig)
    groups: list[Group] = []
    for case in cases:
        n = len(case.values)
        test = (c.firing(ALERT, labels, case.assert_at) if case.fires
                else c.silent(ALERT, case.assert_at))
        groups.append(c.group(case.name, case.name, c.input(sig, case.values)
                              + c.background(n, [sig]), expr_tests=[test]))
    text = environment().get_template("tests/service.yml.j2").render(
        svc=plan, source="tests/test_synth_properties.py", rules_rel=str(rules), groups=groups,
        rule_files=[str(rules)],
        evaluation_interval=60, group_eval_order=())
    path = tmp / "prop.test.yml"
    path.write_text(text)
    [res] = promtool.test_rules(promtool.find_promtool(), [path])
    failed = {m for f in res.failures if f.expr and (m := _case(f.expr))}
    assert res.ok == (not failed), res.output
    return failed


def _case(expr: str) -> str | None:
    m = re.search(r"# memory-growth/(\S+)$", expr)
    return m[1] if m else None


def n_for(duration: int) -> int:
    return duration // S + 1


# --- strategies -------------------------------------------------------------------------


@st.composite
def gc_sawtooth(draw: st.DrawFn, n: int) -> tuple[str, list[Sample]]:
    """A GC sawtooth within the bounds: short period with any amplitude, or a long period with
    an in-cycle slope of at most 0.8 T."""
    if draw(st.booleans()):
        lo, hi = BOUNDS["short_gc_period"]
        period = draw(st.integers(lo // MIN, hi // MIN)) * MIN
        amp = draw(st.integers(0, BOUNDS["short_gc_amplitude"] // MIB)) * MIB
    else:
        lo, hi = BOUNDS["long_gc_period"]
        period = draw(st.integers(lo // MIN, hi // MIN)) * MIN
        amp = math.floor(BOUNDS["slope"] * T * period / HOUR)
        amp = draw(st.integers(0, amp))
    phase = draw(st.integers(0, period // MIN - 1)) * MIN
    return f"gc {period // MIN}m/{amp / MIB:.0f}MiB", sawtooth(0, amp, period, phase, step_s=S,
                                                               n=n)


@st.composite
def healthy_case(draw: st.DrawFn, i: int) -> Case:
    base = draw(st.integers(64, 1024)) * MIB
    event = draw(st.sampled_from(["none", "warmup-deploy", "restart", "step", "gaps", "daily"]))
    e = W + G + draw(st.integers(0, 60)) * MIN  # the event, after W + G of history
    ramp = draw(st.integers(1, BOUNDS["warmup"] // MIN)) * MIN
    end = e + ramp + W + G + F + 30 * MIN
    n = n_for(end)
    gc_name, gc = draw(gc_sawtooth(n))
    vals: list[Sample] = add(constant(base, step_s=S, n=n), gc)
    what = event
    if event == "warmup-deploy":
        start = draw(st.integers(0, base // MIB)) * MIB
        vals = add(warmup(base, ramp, 0, start, step_s=S, n=n), gc)
        what = f"deploy {start / MIB:.0f}->{base / MIB:.0f}MiB in {ramp // MIN}m"
    elif event == "restart":
        low = draw(st.integers(0, base // MIB)) * MIB
        vals = restart(vals, e, low, ramp, step_s=S)
        what = f"restart at {e // MIN}m to {low / MIB:.0f}MiB, {ramp // MIN}m warm-up"
    elif event == "step":
        size = draw(st.integers(-4 * U // MIB, 4 * U // MIB)) * MIB
        vals = add(vals, step_change(size, e, step_s=S, n=n))
        what = f"step {size / MIB:+.0f}MiB at {e // MIN}m"
    elif event == "gaps":
        spans = []
        for _ in range(draw(st.integers(1, 3))):
            s0 = e + draw(st.integers(0, 90)) * MIN
            spans.append((s0, s0 + draw(st.integers(1, 45)) * MIN))
        vals = with_gaps(vals, spans, step_s=S)
        if draw(st.booleans()):
            vals[spans[0][0] // S] = STALE
        what = f"gaps {[(a // MIN, b // MIN) for a, b in spans]}"
    elif event == "daily":
        amp = BOUNDS["slope"] * T * DAY / (2 * math.pi * HOUR)
        amp *= draw(st.floats(0, 1))
        vals = add(vals, daily_curve(amp, DAY, draw(st.integers(0, DAY // MIN)) * MIN,
                                     step_s=S, n=n))
        what = f"daily {amp / MIB:.0f}MiB"
    if draw(st.booleans()):
        amp = draw(st.integers(0, BOUNDS["noise"] // MIB)) * MIB
        vals = add(vals, noise(amp, draw(st.integers(0, 2**16)), step_s=S, n=n))
        what += f" noise {amp / MIB:.0f}MiB"
    vals = clip_min(vals, 0)
    return Case(f"h{i}", vals, end, False, f"{gc_name}, {what}")


LATENCY = W + F  # documented: a leak of >= 1.5 T fires within W + F of its start


@st.composite
def leak_case(draw: st.DrawFn, i: int) -> Case:
    base = draw(st.integers(64, 1024)) * MIB
    k = draw(st.floats(1.5, 10))
    e = W + G + draw(st.integers(0, 60)) * MIN
    every = draw(st.sampled_from([0, 5 * MIN, 10 * MIN, 15 * MIN]))
    at = e + LATENCY + every
    n = n_for(at)
    lo, hi = BOUNDS["short_gc_period"]
    period = draw(st.integers(lo // MIN, hi // MIN)) * MIN
    amp = draw(st.integers(0, BOUNDS["short_gc_amplitude"] // MIB)) * MIB
    phase = draw(st.integers(0, period // MIN - 1)) * MIN
    rate = k * T / HOUR
    leak = (stepwise_leak(rate * every, every, e, step_s=S, n=n) if every
            else linear_leak(rate, e, step_s=S, n=n))
    vals = add(constant(base, step_s=S, n=n), sawtooth(0, amp, period, phase, step_s=S, n=n),
               leak)
    what = f"{k:.2f}x from {e // MIN}m, step {every // MIN}m, gc {period // MIN}m/{amp // MIB}MiB"
    if draw(st.booleans()):
        namp = draw(st.integers(0, BOUNDS["noise"] // MIB)) * MIB
        vals = add(vals, noise(namp, draw(st.integers(0, 2**16)), step_s=S, n=n))
        what += f" noise {namp // MIB}MiB"
    return Case(f"l{i}", vals, at, True, what)


def batch(make: Callable[[int], st.SearchStrategy[Case]], size: int
          ) -> st.SearchStrategy[list[Case]]:
    return st.tuples(*(make(i) for i in range(size))).map(list)


# Few examples by default (each runs promtool on a batch of 6 cases); set
# RULEGEN_PROPERTY_EXAMPLES=200 to search harder.
PROPS = settings(max_examples=int(os.environ.get("RULEGEN_PROPERTY_EXAMPLES", "6")),
                 deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])


@PROPS
@given(batch(healthy_case, 6))
def test_healthy_series_within_bounds_never_fire(
        service: tuple[ServicePlan, Path, rulefile.RuleFile], tmp_path: Path,
        cases: list[Case]) -> None:
    failed = run_cases(service, cases, tmp_path)
    assert not failed, [c.what for c in cases if c.name in failed]


@PROPS
@given(batch(leak_case, 6))
def test_leaks_above_threshold_fire_within_latency(
        service: tuple[ServicePlan, Path, rulefile.RuleFile], tmp_path: Path,
        cases: list[Case]) -> None:
    failed = run_cases(service, cases, tmp_path)
    assert not failed, [c.what for c in cases if c.name in failed]


def test_property_harness_is_not_vacuous(service: tuple[ServicePlan, Path, rulefile.RuleFile],
                                         tmp_path: Path) -> None:
    """A leak asserted silent, and a flat series asserted firing, both fail."""
    n = n_for(W + G + LATENCY + W)
    leak = add(constant(100 * MIB, step_s=S, n=n), linear_leak(3 * T / HOUR, W + G, step_s=S,
                                                                n=n))
    flat = constant(100 * MIB, step_s=S, n=n)
    end = (n - 1) * S
    assert run_cases(service, [Case("leak", leak, end, False), Case("flat", flat, end, True)],
                     tmp_path) == {"leak", "flat"}

