"""alerts/template-value: each case is one rule (line 4); the problem points at the annotation."""

from __future__ import annotations

import pytest

from rulegen.lint import lint_text
from rulegen.lint.alerts_template_value import ID


def found(rule: str) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "deriv(m[1h]) > 0", annotations: {d: "{{ $value }}/s"}}', [(4, 59)]),
    ('{alert: A, expr: "deriv(m[1h]) > 0", annotations: {d: "{{ .Value }}/s"}}', [(4, 59)]),
    ('{alert: A, expr: "deriv(m[1h]) > 0", annotations: {d: "{{- $value -}}"}}', [(4, 59)]),
    ('{alert: A, expr: "deriv(m[1h]) > 0", annotations: {d: "{{ $value | humanize }}"}}', []),
    ('{alert: A, expr: "deriv(m[1h]) > 0", annotations: {d: "{{ $value | humanize1024 }}"}}',
     []),
    ('{alert: A, expr: "a / b > 0", annotations: {d: "{{ $value | humanizePercentage }}"}}', []),
    ('{alert: A, expr: "a / b > 0", annotations: {d: "{{ printf \\"%.2f\\" $value }}"}}', []),
    ('{alert: A, expr: "a / b > 0", annotations: {d: "{{ $value }}"}}', [(4, 52)]),
    ('{alert: A, expr: "rate(x_total[5m]) > 0", annotations: {d: "{{ $value }}"}}', [(4, 64)]),
    ('{alert: A, expr: "up == 0", annotations: {d: "{{ $value }}"}}', []),
    ('{alert: A, expr: "a / b > 0", annotations: {d: "{{ if gt $value 1.0 }}big{{ end }}"}}',
     []),
    ('{alert: A, expr: "a / b > 0", annotations: {d: "{{ $labels.value }}"}}', []),
    ('{alert: A, expr: "a / b > 0", annotations: {d: "{{ $value }} {{ $value }}"}}',
     [(4, 52), (4, 52)]),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected
