"""promql/metric-type: each case is one rule (line 4; its expr at column 22)."""

from __future__ import annotations

import pytest

from rulegen.lint import InventoryContext, ServiceFacts, lint_text
from rulegen.lint.promql_metric_type import ID


def found(rule: str, ctx: InventoryContext | None = None) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text, inventory_context=ctx) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "rate(http_requests_total[5m]) > 0"}', []),
    ('{alert: A, expr: "rate(process_resident_memory_bytes[5m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "irate(go_goroutines[5m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "increase(jvm_threads_live_threads[1h]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "rate(sum by (a) (heap_bytes)[1h:1m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "rate(http_request_duration_seconds_count[5m]) > 0"}', []),
    ('{alert: A, expr: "rate(http_request_duration_seconds_bucket[5m]) > 0"}', []),
    ('{alert: A, expr: "deriv(go_goroutines[1h]) > 0"}', []),
    ('{alert: A, expr: "deriv(process_cpu_seconds_total[1h]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "predict_linear(errors_total[1h], 3600) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "deriv(min_over_time(x_total[5m])[1h:1m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "deriv(rate(x_total[5m])[1h:1m]) > 0"}', []),
    ('{alert: A, expr: "rate(deriv(m[5m])[1h:1m]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "deriv(go_goroutine_count[1h]) > 0"}', []),
    ('{alert: A, expr: "rate(go_goroutine_count[1h]) > 0"}', []),
    # the catalog's counter signals (major_gcs), whatever their names end in
    ('{alert: A, expr: "increase(dotnet_gc_collections[2h]) < 2"}', []),
    ('{alert: A, expr: "deriv(dotnet_gc_collections[2h]) > 0"}', [(4, 22)]),
    ('{alert: A, expr: "deriv(v8js_gc_duration_count[2h]) > 0"}', [(4, 22)]),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected


def test_inventory_names_otel_count_gauges() -> None:
    # OpenTelemetry's go_goroutine_count is a gauge though it ends in _count.
    ctx = InventoryContext({"svc": ServiceFacts(gauge_metrics=frozenset({"go_goroutine_count"}))})
    assert found('{alert: A, expr: "rate(go_goroutine_count[1h]) > 0"}', ctx) == [(4, 22)]


def test_inventory_names_its_counters() -> None:
    # a counter named under metrics: major_gcs, not a name the catalog or the suffix knows
    ctx = InventoryContext({"svc": ServiceFacts(counter_metrics=frozenset({"app_full_gcs"}))})
    assert found('{alert: A, expr: "increase(app_full_gcs[2h]) < 2"}', ctx) == []
    assert found('{alert: A, expr: "increase(app_full_gcs[2h]) < 2"}') == [(4, 22)]
