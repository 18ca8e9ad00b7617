"""What the test template (templates/tests/service.yml.j2) renders: test groups and their
assertions; and `batched`, which runs the expression-only cases of a family side by side."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rulegen.synth import InputSeries


@dataclass(frozen=True)
class ExpAlert:
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AlertTest:
    eval_time: int
    alertname: str
    alerts: tuple[ExpAlert, ...] = ()


@dataclass(frozen=True)
class ExprTest:
    expr: str
    eval_time: int
    samples: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Group:
    name: str  # <family>/<case>
    comment: str
    interval: int
    series: tuple[InputSeries, ...]
    alert_tests: tuple[AlertTest, ...] = ()
    expr_tests: tuple[ExprTest, ...] = ()
    marker: str = ""  # the label value only this case's series carry ("": not batchable)
    cases: tuple[Group, ...] = ()  # a batch: the cases it runs side by side


def _marked(series: str, marker: str) -> bool:
    """True if a label of `series` is `marker` (or `marker-other`: another pod of the case)."""
    return any(v in (marker, marker + "-other") for v in re.findall(r'="((?:[^"\\]|\\.)*)"',
                                                                   series))


def batched(groups: Sequence[Group]) -> list[Group]:
    """The groups, with the cases of each family that are asserted by expressions alone run
    side by side in one group `<family>/batch` (in the place of the first of them).

    promtool evaluates every rule of the file at every step of every group, and most of a
    step's cost does not grow with the number of series: a group of ten cases costs a
    fraction of ten groups. Each case's series carry its own `<service>-<family>-<case>`
    identity (instance, pod), its assertions select its own alerts, and a failing expression
    names its case in a comment. A case whose series are not all unique and marked stays a
    group of its own, as does every case asserted with alert_rule_test (which lists every alert
    of the group)."""
    ok: dict[str, list[Group]] = {}
    seen: set[str] = set()
    for g in groups:
        mine = {s.series for s in g.series}
        if (g.marker and not g.alert_tests and len(mine) == len(g.series) and not mine & seen
                and all(_marked(s, g.marker) for s in mine)):
            seen |= mine
            ok.setdefault(g.name.split("/")[0], []).append(g)
    batches = {id(cs[0]): (fam, cs) for fam, cs in ok.items() if len(cs) > 1}
    taken = {id(c) for _, cs in batches.values() for c in cs}
    out: list[Group] = []
    for g in groups:
        if id(g) in batches:
            fam, cs = batches[id(g)]
            out.append(Group(f"{fam}/batch", f"{len(cs)} cases side by side; each case's "
                             "series carry its own identity and its assertions select its own "
                             "alerts", g.interval, tuple(s for c in cs for s in c.series),
                             expr_tests=tuple(t for c in cs for t in c.expr_tests),
                             cases=tuple(cs)))
        elif id(g) not in taken:
            out.append(g)
    return out
