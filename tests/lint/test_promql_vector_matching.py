"""promql/vector-matching: each case is one rule (line 4; its expr at column 22)."""

from __future__ import annotations

import pytest

from rulegen.lint import lint_text
from rulegen.lint.promql_vector_matching import ID


def found(rule: str) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "a / b > 1"}', []),
    ('{alert: A, expr: "sum by (x) (a) / sum by (x) (b) > 1"}', []),
    ('{alert: A, expr: "sum by (x) (a) / sum by (y) (b) > 1"}', [(4, 22)]),
    ('{alert: A, expr: "sum by (x) (a) / ignoring (y) sum by (x, y) (b) > 1"}', []),
    ('{alert: A, expr: "sum by (x) (a) / on (x, y) b > 1"}', [(4, 22)]),
    ('{alert: A, expr: "a / on (x, y) sum by (x, y) (b) > 1"}', []),
    ('{alert: A, expr: "a / on (x) sum without (x) (b) > 1"}', [(4, 22)]),
    ('{alert: A, expr: "sum by (x) (a) / on () sum by (y) (b) > 1"}', []),
    ('{alert: A, expr: "sum by (x) (a) / sum without (x) (b) > 1"}', [(4, 22)]),
    ('{alert: A, expr: "sum(a) / sum(b) > 1"}', []),
    ('{alert: A, expr: "sum by (x) (a) and sum by (y) (b)"}', [(4, 22)]),
    ('{alert: A, expr: "sum by (x) (a) or sum by (y) (b)"}', []),
    ('{alert: A, expr: "a * on (x) group_left (z) max by (x) (b) > 1"}', [(4, 22)]),
    ('{alert: A, expr: "a * on (x) group_left (z) max by (x, z) (b) > 1"}', []),
    ('{alert: A, expr: "label_replace(sum by (y) (a), \\"x\\", \\"$1\\", \\"y\\", \\"(.*)\\")'
     ' / on (x) b > 1"}', []),
    ('{alert: A, expr: "(sum by (x) (a) / on (x) b) / on (y) c > 1"}', [(4, 22)]),
    ('{alert: A, expr: "sum by (x) (a) > 0 and on (x) b"}', []),
    ('{alert: A, expr: "scalar(a) * sum by (x) (b) > 1"}', []),
    ('{alert: A, expr: "histogram_quantile(0.9, sum by (le, x) (b)) / on (le) c > 1"}', [(4, 22)]),
    # inside a function that returns a scalar, and inside an aggregation's parameter
    ('{alert: A, expr: "c * scalar(sum by (x) (a) / sum by (y) (b)) > 1"}', [(4, 22)]),
    ('{alert: A, expr: "topk(scalar(sum by (x) (a) / sum by (y) (b)), c) > 1"}', [(4, 22)]),
    # nested: the inner mismatch, and the outer one for each side, are all reported
    ('{alert: A, expr: "(sum by (x) (a) / sum by (y) (b)) / on (z) sum by (w) (c) > 1"}',
     [(4, 22), (4, 22), (4, 22)]),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected
