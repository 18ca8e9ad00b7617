"""promql/syntax: each case is one rule (line 4 of the file) and where its problems point."""

from __future__ import annotations

import pytest

from rulegen.lint import lint_text
from rulegen.lint.promql_syntax import ID


def found(rule: str) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ('{alert: A, expr: "up == 0"}', []),
    ('{alert: A, expr: "sum(up"}', [(4, 22)]),
    ('{alert: A, expr: "rate(x)"}', [(4, 22)]),
    ('{alert: A, expr: "up{job=}"}', [(4, 22)]),
    ('{record: r, expr: "up[5m]"}', [(4, 23)]),
    ('{record: r, expr: "\'text\'"}', [(4, 23)]),
    ('{record: r, expr: "up[5m:1m]"}', [(4, 23)]),
    ('{record: r, expr: "1"}', []),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected


def test_message_names_the_parser_error() -> None:
    [p] = [p for p in lint_text("groups:\n- name: g\n  rules:\n  - {alert: A, expr: 'sum(up'}\n")
           if p.check == ID]
    assert "unclosed left parenthesis" in p.message
