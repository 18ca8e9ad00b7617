"""alerts/required: each case is one rule (line 4); problems point at labels:/annotations:."""

from __future__ import annotations

import pytest

from rulegen.errors import Severity
from rulegen.lint import lint_text
from rulegen.lint.alerts_required import ID

LABELS = "labels: {severity: warning, owner: team, service: svc}"
ANNOTATIONS = "annotations: {summary: s, description: d}"


def found(rule: str) -> list[tuple[int, int]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    (f"{{alert: A, expr: up, {LABELS}, {ANNOTATIONS}}}", []),
    ("{alert: A, expr: up}", [(4, 6), (4, 6)]),
    (f"{{alert: A, expr: up, {ANNOTATIONS}}}", [(4, 6)]),
    (f"{{alert: A, expr: up, {LABELS}}}", [(4, 6)]),
    (f"{{alert: A, expr: up, labels: {{severity: warning, owner: team}}, {ANNOTATIONS}}}",
     [(4, 26)]),
    (f"{{alert: A, expr: up, labels: {{severity: '', owner: t, service: s}}, {ANNOTATIONS}}}",
     [(4, 26)]),
    ("{record: r, expr: up}", []),
])
def test_cases(rule: str, expected: list[tuple[int, int]]) -> None:
    assert found(rule) == expected


def test_message_lists_what_is_missing() -> None:
    [p] = [p for p in lint_text("groups:\n- name: g\n  rules:\n  - {alert: A, expr: up, "
                                f"labels: {{owner: t}}, {ANNOTATIONS}}}\n") if p.check == ID]
    assert p.message == "alert A has no label severity, service"
    assert p.severity == Severity.ERROR
