"""alerts/for-window: each case is one rule (line 4); the problem points at its for: value."""

from __future__ import annotations

import pytest

from rulegen.lint import lint_text
from rulegen.lint.alerts_for_window import ID


def found(rule: str) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, for: 15m, expr: "deriv(m[2h]) > 0"}', []),
    ('{alert: A, for: 2h, expr: "deriv(m[2h]) > 0"}', []),
    ('{alert: A, for: 3h, expr: "deriv(m[2h]) > 0"}', [(4, 21)]),
    ('{alert: A, for: 1h, expr: "deriv(min_over_time(m[5m])[2h:1m]) > 0"}', []),
    ('{alert: A, for: 30m, expr: "min_over_time(m[10m]) > 0"}', [(4, 21)]),
    ('{alert: A, for: 30m, expr: "m[10m:1m] offset 1h"}', []),
    ('{alert: A, for: 1h, expr: "up == 0"}', []),
    ('{alert: A, expr: "deriv(m[2m]) > 0"}', []),
    ('{record: r, expr: "deriv(m[2m])"}', []),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected
