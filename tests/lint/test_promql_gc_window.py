"""promql/gc-window: each case is one rule of service svc (GC period 5m; expr at column 22)."""

from __future__ import annotations

import pytest

from rulegen.lint import InventoryContext, ServiceFacts, lint_text
from rulegen.lint.promql_gc_window import ID

CTX = InventoryContext({"svc": ServiceFacts(gc_s=300, memory_metrics=frozenset({"heap_bytes"}))})


def found(rule: str, ctx: InventoryContext | None = CTX) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text, inventory_context=ctx) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "deriv(heap_bytes[30m]) > 0", labels: {service: svc}}', []),
    ('{alert: A, expr: "deriv(heap_bytes[29m]) > 0", labels: {service: svc}}', [(4, 22)]),
    ('{alert: A, expr: "predict_linear(heap_bytes[10m], 60) > 0", labels: {service: svc}}',
     [(4, 22)]),
    ('{alert: A, expr: "deriv(sum(heap_bytes)[10m:1m]) > 0", labels: {service: svc}}', [(4, 22)]),
    ('{alert: A, expr: "deriv(min_over_time(heap_bytes[5m])[1h:1m]) > 0", '
     'labels: {service: svc}}', []),
    ('{alert: A, expr: "deriv(sum without (t) (min_over_time(heap_bytes[5m]))[1h:1m]) > 0", '
     'labels: {service: svc}}', []),
    ('{alert: A, expr: "deriv(min_over_time(heap_bytes[2m])[2h:1m]) > 0", '
     'labels: {service: svc}}', [(4, 22)]),
    ('{alert: A, expr: "deriv(goroutines[10m]) > 0", labels: {service: svc}}', []),
    ('{alert: A, expr: "deriv(heap_bytes[10m]) > 0", labels: {service: other}}', []),
    ('{alert: A, expr: "deriv(heap_bytes[10m]) > 0"}', []),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected


def test_skipped_without_inventory() -> None:
    assert found('{alert: A, expr: "deriv(heap_bytes[1m]) > 0", labels: {service: svc}}',
                 None) == []


def test_memory_by_name_when_the_context_lists_no_metrics() -> None:
    ctx = InventoryContext({"svc": ServiceFacts(gc_s=600)})
    assert found('{alert: A, expr: "deriv(rss_bytes[30m]) > 0", labels: {service: svc}}',
                 ctx) == [(4, 22)]
    assert found('{alert: A, expr: "deriv(queue_depth[30m]) > 0", labels: {service: svc}}',
                 ctx) == []
