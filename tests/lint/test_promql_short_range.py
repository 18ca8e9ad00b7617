"""promql/short-range: each case is one rule (line 4; its expr at column 22)."""

from __future__ import annotations

import pytest

from rulegen.lint import InventoryContext, ServiceFacts, lint_text
from rulegen.lint.promql_short_range import ID


def found(rule: str, **kwargs: object) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text, **kwargs)  # type: ignore[arg-type]
            if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "deriv(m[2m]) > 0"}', []),
    ('{alert: A, expr: "deriv(m[1m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "rate(x_total[90s]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "irate(x_total[1m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "increase(x_total[1m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "predict_linear(m[1m], 3600) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "delta(m[30s]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "deriv(min_over_time(m[5m])[1m:30s]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "deriv(min_over_time(m[5m])[10m:5m]) > 0"}', []),
    ('{alert: A, expr: "deriv(min_over_time(m[5m])[10m:6m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "min_over_time(m[1m]) > 0"}', []),
    ('{alert: A, expr: "rate(a_total[1m]) / rate(b_total[1m]) > 0"}', [(4, 22), (4, 22)]),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected


def test_scrape_interval_option() -> None:
    rule = '{alert: A, expr: "deriv(m[1m]) > 0"}'
    assert found(rule, scrape_interval=30) == []
    assert found('{alert: A, expr: "deriv(m[5m]) > 0"}', scrape_interval=300) == [(4, 22)]


def test_scrape_interval_of_the_service_in_the_inventory() -> None:
    ctx = InventoryContext({"svc": ServiceFacts(scrape_s=15)})
    rule = '{alert: A, expr: "deriv(m[1m]) > 0", labels: {service: svc}}'
    assert found(rule, inventory_context=ctx) == []
    assert found(rule.replace("svc}", "other}"), inventory_context=ctx) == [(4, 22)]
