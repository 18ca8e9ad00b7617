"""rulegen/rulefile.py: the one reader of rule files (testgen, verify, diff, lint, promtool's
rule count all read through it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rulegen import rulefile

RULES = """\
groups:
  - name: a
    rules:
      - alert: Leak
        expr: deriv(x[1h]) > 0
        for: 15m
        labels: {severity: warning, signal: heap, n: 1, empty: null}
        annotations: {summary: "{{ $value }}"}
      - record: job:x:sum
        expr: sum(x)
  - name: b
    rules:
      - alert: Leak
        expr: deriv(y[1h]) > 0
        labels: {signal: threads}
      - alert: Gone
        expr: 1
"""


def test_groups_rules_and_their_fields() -> None:
    f = rulefile.parse(RULES)
    assert [g.name for g in f.groups] == ["a", "b"]
    assert f.rule_count == 4 and f.flaws == ()
    leak, record = f.groups[0].rules
    assert (leak.kind, leak.name, leak.expr, leak.for_) == ("alert", "Leak",
                                                           "deriv(x[1h]) > 0", "15m")
    assert leak.labels == {"severity": "warning", "signal": "heap", "n": "1", "empty": ""}
    assert leak.annotations == {"summary": "{{ $value }}"}
    assert leak.loc == ("groups", 0, "rules", 0) and leak.data["for"] == "15m"
    assert (record.is_alert, record.name, record.for_) == (False, "job:x:sum", None)
    assert [r.name for r in f.alerts] == ["Leak", "Leak", "Gone"]
    assert f.alerts[2].expr == "1"
    assert [r.labels["signal"] for r in f.find("Leak")] == ["heap", "threads"]
    assert [r.expr for r in f.find("Leak", "threads")] == ["deriv(y[1h]) > 0"]
    assert f.signals("Leak") == ["heap", "threads"] and f.has("Gone") and not f.has("x")


@pytest.mark.parametrize(("text", "count", "flaws"), [
    ("", 0, []),
    ("groups: []\n", 0, []),
    ("{}\n", 0, [((), "a rule file is a mapping with a groups: list")]),
    ("- 1\n", None, [((), "a rule file is a mapping with a groups: list")]),
    ("groups: 3\n", None, [((), "a rule file is a mapping with a groups: list")]),
    ("groups:\n  - name: a\n    rules: 3\n", None,
     [(("groups", 0), "a group needs a rules: list")]),
    ("groups:\n  - name: a\n", 0, [(("groups", 0), "a group needs a rules: list")]),
    ("groups:\n  - rules: [1, {alert: A, record: b, expr: x}, {expr: x}]\n", 3,
     [(("groups", 0, "rules", i), "a rule is a mapping with exactly one of alert: or record:")
      for i in range(3)]),
    ("groups:\n  - rules: [{alert: 1, expr: x}, {alert: '', expr: x}]\n", 2,
     [(("groups", 0, "rules", 0, "alert"), "alert: must be a name"),
      (("groups", 0, "rules", 1, "alert"), "alert: must be a name")]),
    ("groups:\n  - rules: [{alert: A}, {alert: B, expr: true}, {alert: C, expr: [x]}]\n", 3,
     [(("groups", 0, "rules", 0), "the rule needs an expr: string"),
      (("groups", 0, "rules", 1, "expr"), "the rule needs an expr: string"),
      (("groups", 0, "rules", 2, "expr"), "the rule needs an expr: string")]),
], ids=["empty", "no-groups", "empty-map", "list", "groups-int", "rules-int", "no-rules",
        "not-a-rule", "bad-name", "bad-expr"])
def test_what_is_not_a_rule_is_a_flaw_at_its_place(
        text: str, count: int | None, flaws: list[tuple[rulefile.Loc, str]]) -> None:
    f = rulefile.parse(text)
    assert f.rule_count == count
    assert [(x.loc, x.message) for x in f.flaws] == flaws
    assert f.rules == []


def test_a_bad_labels_map_is_a_flaw_and_the_rule_stays() -> None:
    f = rulefile.parse("groups:\n  - rules: [{alert: A, expr: x, labels: [a], annotations: s}]\n")
    [rule] = f.rules
    assert (rule.labels, rule.annotations) == ({}, {})
    assert [x.loc[-1] for x in f.flaws] == ["labels", "annotations"]


def test_read_and_count_rules(tmp_path: Path) -> None:
    path = tmp_path / "r.yml"
    path.write_bytes(RULES.encode("utf-16"))  # YAML's own encoding detection, as promtool's
    assert rulefile.read(path).rule_count == 4 == rulefile.count_rules(path)
    assert rulefile.count_rules(tmp_path / "missing.yml") is None
    path.write_text("groups: [\n")
    assert rulefile.count_rules(path) is None
    with pytest.raises(yaml.YAMLError):
        rulefile.read(path)
