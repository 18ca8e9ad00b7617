"""The cases of telemetry-missing (docs/families.md, "telemetry-missing"): each watched series
that stops fires its own alert after W + F; every series present (through a scrape gap shorter
than the window) is silent; a limit source that always emits but has no series for the service
(another pod's, or 0) fires the `signal="memory_limit"` alert.

Unlike the other families, its cases depend on the service's signals, not only on settings, so
each is a function of the `CaseBuilder` that makes its test group directly.
"""

from __future__ import annotations

from rulegen.cases.builder import CaseBuilder
from rulegen.cases.groups import Group
from rulegen.cases.settings import MIN
from rulegen.synth import InputSeries, constant, decode, encode, stale_after, with_gaps
from rulegen.units import format_duration as dur

FAMILIES = ("telemetry-missing",)
LIMIT_SIGNAL = "memory_limit"  # the alert of a limit source without the service's series


def vanish(c: CaseBuilder, signal: str) -> Group:
    """`vanish-<signal>`: that series stops (a staleness marker) at 30m, every other stays."""
    p, s, name = c.plan, c.settings, c.fam.alertname
    e = s.up(30 * MIN)
    t = s.up(e + s.W + s.F + 5 * MIN)
    n = s.n(t)
    sig = p.signals[signal]
    level = (round(0.3 * c.lim) if signal != "runtime_limit" else c.lim) \
        if c.memory_signal(signal) else 40
    vals = stale_after(constant(level, step_s=s.S, n=n), e, step_s=s.S)
    lim = p.limit
    is_limit = lim is not None and lim.series is not None and lim.series.sel == sig.sel
    tests, exprs, why = c.exactly(name, dict(sig.equality_labels), 1.0, t, signal)
    return c.group(
        f"vanish-{signal}", f"{sig.sel} stops at {dur(e)} (a staleness marker), every other "
        f"series stays: fires after W+F{why}",
        c.input(sig, vals) + ([] if is_limit else c.limit_for("set", n))
        + c.background(n, [sig]), alert_tests=tests, expr_tests=exprs)


def present(c: CaseBuilder) -> Group:
    """`present`: every watched series and the limit, through a W/2 scrape gap: silent."""
    s = c.settings
    d = s.up(2 * s.W + s.F + 10 * MIN)
    n = s.n(d)
    gap = [(s.up(10 * MIN), s.up(10 * MIN) + s.W // 2)]
    every = c.limit_for("set", n) + c.background(n)
    gapped = [InputSeries(i.series, encode(with_gaps(decode(i.values), gap, step_s=s.S)))
              for i in every]
    return c.group("present", f"every watched series (and the limit) present, with a "
                   f"{dur(s.W // 2)} scrape gap, shorter than the window", gapped,
                   expr_tests=[c.silent(c.fam.alertname, d)])


def _limit_never_matches(c: CaseBuilder, case: str, mode: str, what: str) -> Group | None:
    """A limit source that always emits (cAdvisor, docker stats) with no usable series for the
    service: its limit alerts could never fire, so the `memory_limit` alert does."""
    p, s = c.plan, c.settings
    lim = p.limit
    if not (lim and lim.kind == "metric" and lim.always_present and c.used is not None):
        return None
    t = s.up(s.F + 5 * MIN)
    n = s.n(t)
    tests, exprs, why = c.exactly(c.fam.alertname, c.result_labels(p.signals["resident"]), 1.0,
                                  t, LIMIT_SIGNAL)
    return c.group(case, f"the limit source {what}: the limit alerts could never fire{why}",
                   c.limit_for(mode, n) + c.background(n), alert_tests=tests, expr_tests=exprs)


def limit_unmatched(c: CaseBuilder) -> Group | None:
    return _limit_never_matches(c, "limit-unmatched", "other",
                                "only has a series of another pod/container")


def limit_zero(c: CaseBuilder) -> Group | None:
    return _limit_never_matches(c, "limit-zero", "zero",
                                "has the service's series, at 0 (no limit set)")


def groups(c: CaseBuilder) -> list[Group]:
    """A `vanish-<signal>` case per watched signal of the rule file, `present`, and the
    limit-source cases where they apply."""
    out = [vanish(c, signal) for signal in c.rules.signals(c.fam.alertname)
           if signal != LIMIT_SIGNAL]
    out.append(present(c))
    out += [g for g in (limit_unmatched(c), limit_zero(c)) if g is not None]
    return out
