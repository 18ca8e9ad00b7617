"""promql/division-guard: each case is one rule (line 4; its expr at column 22)."""

from __future__ import annotations

import pytest

from rulegen.lint import lint_text
from rulegen.lint.promql_division_guard import ID


def found(rule: str) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "used / limit > 0.8"}', [(4, 22)]),
    ('{alert: A, expr: "used / (limit > 0) > 0.8"}', []),
    ('{alert: A, expr: "used / (0 < limit) > 0.8"}', []),
    ('{alert: A, expr: "used / (limit >= 1) > 0.8"}', []),
    ('{alert: A, expr: "used / (limit != 0) > 0.8"}', []),
    ('{alert: A, expr: "used / (limit > bool 0) > 0.8"}', [(4, 22)]),
    ('{alert: A, expr: "used / (limit >= 0) > 0.8"}', [(4, 22)]),
    ('{alert: A, expr: "used / on (a) group_left () max by (a) (limit > 0) > 0.8"}', []),
    ('{alert: A, expr: "used / on (a) group_left () (max by (a) (limit) > 0) > 0.8"}', []),
    ('{alert: A, expr: "used / label_replace(limit > 0, \\"a\\", \\"$1\\", \\"b\\", \\"(.*)\\")'
     ' > 0.8"}', []),
    ('{alert: A, expr: "used / clamp_min(limit, 1) > 0.8"}', []),
    ('{alert: A, expr: "used / clamp_min(limit, 0) > 0.8"}', [(4, 22)]),
    ('{alert: A, expr: "used / count(up) > 0.8"}', []),
    ('{alert: A, expr: "used / 524288000 > 0.8"}', []),
    ('{alert: A, expr: "used / (3600 * 24) > 0.8"}', []),
    ('{alert: A, expr: "used / 0 > 0.8"}', [(4, 22)]),
    ('{alert: A, expr: "used / ((limit > 0) * 1024) > 0.8"}', []),
    ('{alert: A, expr: "used / (limit * 1024) > 0.8"}', [(4, 22)]),
    ('{alert: A, expr: "used * limit > 0.8"}', []),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected
