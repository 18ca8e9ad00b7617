"""yaml/parse: a file that is not a readable rule file; each case is a whole file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulegen.errors import Severity
from rulegen.lint import lint_files, lint_text
from rulegen.lint.yaml_parse import ID


def found(text: str) -> list[tuple[int, int]]:
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("text", "expected"), [
    ("groups: []\n", []),
    ("", []),
    ("groups: [\n", [(2, 1)]),
    ("groups:\n- name: a\n  rules: []\n  rules: []\n", [(4, 3)]),
    ("- a\n", [(1, 1)]),
    ("groups:\n- name: a\n", [(2, 3)]),
    ("groups:\n- name: a\n  rules:\n  - {expr: up}\n", [(4, 5)]),
    ("groups:\n- name: a\n  rules:\n  - {alert: A, record: r, expr: up}\n", [(4, 5)]),
    ("groups:\n- name: a\n  rules:\n  - {alert: A}\n", [(4, 5)]),
    ("groups:\n- name: a\n  rules:\n  - {alert: [A], expr: up}\n", [(4, 13)]),
    ("groups:\n- name: a\n  rules:\n  - {alert: A, expr: [up]}\n", [(4, 22)]),
    ("groups:\n- name: a\n  rules:\n  - {alert: A, expr: up, for: soon}\n", [(4, 31)]),
    ("groups:\n- name: a\n  rules:\n  - {alert: A, expr: up, labels: [a]}\n", [(4, 34)]),
])
def test_cases(text: str, expected: list[tuple[int, int]]) -> None:
    assert found(text) == expected


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    [p] = lint_files([str(tmp_path / "missing.yml")])
    assert (p.check, p.severity, p.line) == (ID, Severity.ERROR, 0)
