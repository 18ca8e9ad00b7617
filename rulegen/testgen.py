"""Generated promtool rule tests: one test file per service, beside its rule file.

For every alert a service gets, its family's cases (`rulegen.cases`, a module per family) give
test groups from synthetic series: leaking cases that must fire (with exact labels, and
annotations where `$value` is exact on Prometheus 2.x and 3.x) at a time computed from the
inventory's window/for/gc period, and healthy cases that must stay silent at every evaluation.
This module renders them through `templates/tests/service.yml.j2`; the cases take the expected
labels and annotations from the rendered rule file. `rulegen.verify` checks test files against
rule files.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import jinja2

from rulegen import rulefile
from rulegen.cases import TestgenError
from rulegen.cases.groups import batched
from rulegen.cases.registry import groups_for
from rulegen.model import ServicePlan
from rulegen.recording import limit_group, limit_rules_path

TEST_TEMPLATE = "tests/service.yml.j2"


# --- the test file -------------------------------------------------------------------------


def test_file(plan: ServicePlan, rules_text: str, rules_rel: str, root: str, source: str,
              env: jinja2.Environment, also: Sequence[str] = (),
              also_groups: Sequence[str] = ()) -> str:
    """The promtool test file for one service (or a proof class's canonical form,
    rulegen/classes.py). `rules_rel` is its rule file relative to the test file, `root` the
    output directory relative to the test file; `rules_text` is the rule file's text
    (annotations are taken from it); `also`: other rule files the rules read (a rule class's
    members, relative to the test file), `also_groups` their groups.

    A service with an evaluation_interval of its own is proved at it. Its limit and members
    groups then run before its own at each step (`group_eval_order`), so its alerts read the
    limit of that step: promtool steps every group at once, and read from the step before, the
    limit would be an interval old, which Prometheus 3.x's lookback window (left-open) leaves
    out at 5m (from 5m on the alerts read it over two intervals, promql.last_sample: the order
    keeps every step's alerts on that step's limit)."""
    rules = rulefile.parse(rules_text)
    rule_files = [rules_rel, *also]
    before = list(also_groups)
    if plan.limit and plan.limit.fleet:  # the limit this service's alerts read
        rule_files.append(posixpath.join(root, limit_rules_path(plan.limit.fleet.id)))
        before.insert(0, limit_group(plan.limit.fleet.id))
    order = [*before, *(g.name for g in rules.groups)] if plan.eval_s else []
    groups = batched([g for alert in plan.alerts for g in groups_for(plan, alert, rules)])
    names = [g.name for g in groups]
    if len(names) != len(set(names)):
        raise TestgenError(f"duplicate test group names for service {plan.name}")
    try:
        return env.get_template(TEST_TEMPLATE).render(
            svc=plan, source=source, rules_rel=rules_rel, rule_files=rule_files, groups=groups,
            evaluation_interval=plan.evaluation_s, group_eval_order=order)
    except jinja2.TemplateError as exc:
        raise TestgenError(f"template error in {TEST_TEMPLATE}: {exc}") from None


test_file.__test__ = False  # type: ignore[attr-defined]  # not a pytest test function


def test_path(runtime: str, service: str) -> str:
    return f"tests/{runtime}/{service}.yml"


test_path.__test__ = False  # type: ignore[attr-defined]
