"""Generated promtool rule tests: one test file per service, beside its rule file.

For every alert a service gets, `rulegen.cases` builds test groups from synthetic series: leaking
cases that must fire (with exact labels, and annotations where `$value` is exact on Prometheus
2.x and 3.x) at a time computed from the inventory's window/for/gc period, and healthy cases
that must stay silent at every evaluation. This module renders them through
`templates/tests/service.yml.j2`, works out the expected annotations from the rendered rule
file, and checks test files against rule files (`verify_tests`): promtool passes an empty
expectation on a typo'd alertname or a rule file that does not exist.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

import jinja2
import yaml

from rulegen import rulefile
from rulegen.errors import UserError
from rulegen.model import ServicePlan

TEST_TEMPLATE = "tests/service.yml.j2"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
EVALUATION_INTERVAL = 60  # what Prometheus evaluates rule groups at unless told otherwise


class TestgenError(UserError):
    """The templates produced rules the test generator cannot write tests for."""

    __test__ = False


# --- the test file -------------------------------------------------------------------------


def test_file(plan: ServicePlan, rules_text: str, rules_rel: str, source: str,
              env: jinja2.Environment) -> str:
    """The promtool test file for one service. `rules_rel` is its rule file relative to the
    test file; `rules_text` is that file's text (annotations are taken from it)."""
    from rulegen.cases import batched, groups_for

    rules = rulefile.parse(rules_text)
    groups = batched([g for alert in plan.alerts for g in groups_for(plan, alert, rules)])
    names = [g.name for g in groups]
    if len(names) != len(set(names)):
        raise TestgenError(f"duplicate test group names for service {plan.name}")
    try:
        return env.get_template(TEST_TEMPLATE).render(
            svc=plan, source=source, rules_rel=rules_rel, groups=groups,
            evaluation_interval=EVALUATION_INTERVAL)
    except jinja2.TemplateError as exc:
        raise TestgenError(f"template error in {TEST_TEMPLATE}: {exc}") from None


test_file.__test__ = False  # type: ignore[attr-defined]  # not a pytest test function


def test_path(runtime: str, service: str) -> str:
    return f"tests/{runtime}/{service}.yml"


test_path.__test__ = False  # type: ignore[attr-defined]


# --- verification --------------------------------------------------------------------------

_ALERTNAME_IN_EXPR = re.compile(r'alertname\s*=\s*"([^"]*)"')


def verify_tests(rule_files: Mapping[str, str], test_files: Mapping[str, str],
                 parsed: dict[str, Any] | None = None) -> list[str]:
    """Problems promtool would let pass silently, one message each (empty: all good).

    Keys are paths relative to one root (e.g. `rules/go/a.yml`, `tests/go/a.yml`); each test
    file's `rule_files` entries resolve relative to the test file's folder. Checks: the test
    file parses; every rule_files entry names a given rule file; every test group sets
    `interval` and a unique name; every `alertname` in `alert_rule_test`, and every
    `alertname="..."` in a `promql_expr_test`, is an alert of the referenced rule files.
    Each test file that parses is put into `parsed` (when given), so callers parse it once.
    """
    problems: list[str] = []
    rule_texts = {posixpath.normpath(path): (path, text) for path, text in rule_files.items()}
    parsed_rules: dict[str, set[str] | None] = {}

    def alerts_of(target: str) -> set[str] | None:
        """Alert names of a given rule file (None: not given); parsed once, when a test names
        it (an output without tests parses none)."""
        if target not in rule_texts:
            return None
        if target not in parsed_rules:
            path, text = rule_texts[target]
            try:
                rules = rulefile.parse(text)
            except yaml.YAMLError as exc:
                problems.append(f"{path}: not a rule file: {exc}")
                parsed_rules[target] = set()
            else:
                parsed_rules[target] = {r.name for r in rules.alerts}
                if rules.rule_count is None:  # not rule groups (promtool says so too)
                    problems.append(f"{path}: not a rule file: {rules.flaws[0].message}")
                    parsed_rules[target] = set()
        return parsed_rules[target]

    for path, text in sorted(test_files.items()):
        try:
            doc: Any = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            problems.append(f"{path}: not YAML: {exc}")
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}: not a promtool test file")
            continue
        if parsed is not None:
            parsed[path] = doc
        here = posixpath.dirname(path)
        known: set[str] = set()
        entries = doc.get("rule_files") or []
        if not entries:
            problems.append(f"{path}: no rule_files")
        for entry in entries:
            target = posixpath.normpath(posixpath.join(here, str(entry)))
            alerts = alerts_of(target)
            if alerts is None:
                problems.append(f"{path}: rule_files entry {entry!r} resolves to {target}, "
                                "which is not a generated rule file")
            else:
                known |= alerts
        seen: set[str] = set()
        for i, group in enumerate(doc.get("tests") or []):
            name = str(group.get("name") or f"#{i + 1}")
            where = f"{path}: test group {name!r}"
            if name in seen:
                problems.append(f"{where}: duplicate group name")
            seen.add(name)
            if "interval" not in group:
                problems.append(f"{where}: no interval (promtool 2.42 puts samples at the "
                                "wrong times without it)")
            used = [str(t.get("alertname")) for t in group.get("alert_rule_test") or []]
            for t in group.get("promql_expr_test") or []:
                used += _ALERTNAME_IN_EXPR.findall(str(t.get("expr", "")))
            for alertname in used:
                if alertname not in known:
                    problems.append(f"{where}: alertname {alertname!r} is not an alert of "
                                    f"{', '.join(map(str, entries)) or 'any rule file'}")
    return problems


def verify_output(files: Mapping[str, str]) -> list[str]:
    """`verify_tests` on a compiled output tree (`Output.files`)."""
    return verify_tests({p: t for p, t in files.items() if p.startswith("rules/")},
                        {p: t for p, t in files.items() if p.startswith("tests/")})
