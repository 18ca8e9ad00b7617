"""rule/duplicate: the second of two rules with one identity, in one file or across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulegen.lint import lint_files, lint_text
from rulegen.lint.rule_duplicate import ID


def found(*rules: str) -> list[tuple[int, int]]:
    text = "groups:\n- name: g\n  rules:\n" + "".join(f"  - {r}\n" for r in rules)
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rules", "expected"), [
    (("{alert: A, expr: up}", "{alert: B, expr: up}"), []),
    (("{alert: A, expr: up}", "{alert: A, expr: down}"), [(5, 6)]),
    (("{alert: A, expr: up, labels: {s: a}}", "{alert: A, expr: up, labels: {s: b}}"), []),
    (("{alert: A, expr: up, labels: {s: a, t: b}}", "{alert: A, expr: up, labels: {t: b, s: a}}"),
     [(5, 6)]),
    (("{record: A, expr: up}", "{alert: A, expr: up}"), []),
    (("{record: r, expr: up}", "{record: r, expr: up}", "{record: r, expr: up}"),
     [(5, 6), (6, 6)]),
])
def test_cases(rules: tuple[str, ...], expected: list[tuple[int, int]]) -> None:
    assert found(*rules) == expected


def test_across_files_names_the_first(tmp_path: Path) -> None:
    rule = "groups:\n- name: g\n  rules:\n  - {alert: A, expr: up, labels: {service: s}}\n"
    (tmp_path / "a.yml").write_text(rule)
    (tmp_path / "b.yml").write_text(rule)
    [p] = [p for p in lint_files([str(tmp_path / "a.yml"), str(tmp_path / "b.yml")])
           if p.check == ID]
    assert (p.path, p.line) == (str(tmp_path / "b.yml"), 4)
    assert p.message == f'alert A with service="s" is already defined at {tmp_path / "a.yml"}:4'
