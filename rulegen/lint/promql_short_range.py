"""promql/short-range: rate/deriv-style functions over a range shorter than two scrapes."""

from __future__ import annotations

from collections.abc import Iterator

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.query import RANGE_FUNCS, duration, range_of

ID = "promql/short-range"
DESCRIPTION = ("rate/irate/increase/delta/deriv/predict_linear range (or subquery range) "
               "shorter than 2x the scrape interval (or subquery step)")
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.expr is None:
        return
    for call in rule.calls(RANGE_FUNCS):
        found = range_of(call.args[0])
        if found is None:
            continue
        rng, step = found
        # A window must hold two samples; a subquery's samples come at its step, and never
        # more often than the series is scraped.
        spacing = max(rule.scrape_s, step or 0)
        if rng < 2 * spacing:
            what = "the subquery step and scrape interval" if step else "the scrape interval"
            yield rule.problem(
                ("expr",), f"{call.func.name}() over [{duration(rng)}] holds fewer than 2 "
                f"samples at {what} ({duration(spacing)}), so it returns nothing; use a range "
                f"of at least {duration(2 * spacing)}", ID, SEVERITY)
