"""promql/unknown-service: each case is one rule (line 4; its expr at column 22)."""

from __future__ import annotations

import pytest

from rulegen.lint import InventoryContext, ServiceFacts, lint_text
from rulegen.lint.promql_unknown_service import ID

CTX = InventoryContext({
    "cart": ServiceFacts(selector=(("service_name", "=", "cart"),)),
    "quote": ServiceFacts(selector=(("container_name", "=~", "quote-.*"),)),
})


def found(rule: str, ctx: InventoryContext | None = CTX) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text, inventory_context=ctx) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "m{service_name=\\"cart\\"} > 0"}', []),
    ('{alert: A, expr: "m{service_name=\\"carts\\"} > 0"}', [(4, 22)]),
    ('{alert: A, expr: "m{service_name=~\\"ca.*\\"} > 0"}', []),
    ('{alert: A, expr: "m{service_name=~\\"x.*\\"} > 0"}', [(4, 22)]),
    ('{alert: A, expr: "m{service_name!=\\"x\\"} > 0"}', []),
    ('{alert: A, expr: "m{container_name=\\"quote-1\\"} > 0"}', []),
    ('{alert: A, expr: "m{container_name=\\"email\\"} > 0"}', [(4, 22)]),
    ('{alert: A, expr: "m{job=\\"anything\\"} > 0"}', []),
    ('{alert: A, expr: "a{service_name=\\"x\\"} / on () b{service_name=\\"y\\"} > 0"}',
     [(4, 22), (4, 22)]),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected


def test_skipped_without_inventory() -> None:
    assert found('{alert: A, expr: "m{service_name=\\"carts\\"} > 0"}', None) == []
