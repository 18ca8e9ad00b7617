"""Each test group of a promtool test file run against only the rules it reads.

promtool evaluates every rule of a test file's rule files at every evaluation step of every test
group, whether the group asks about it or not, and a day-2 case is 29 hours of steps. A group's
expectations depend on the alerts it names and on the recording rules those read (at any
depth); on nothing else in the files. So `slice_test` splits a test file into slices: test
groups that read the same rules, with rule files cut down to those rules. The rules kept are
the rule file's own entries, unchanged, in their groups (name, interval and every other key of
the group kept) and in file order; a promtool run of a slice checks the same expectations
against the same evaluation as a run of the whole file, in a fraction of the time.

Where that cannot be known, the file is run whole (`slice_test` returns None): a rule file that
does not read or has a flaw, a `rule_files` glob, a `group_eval_order` that is no list, an
expression that does not parse, a selector without a metric name. An expression that reads
`ALERTS` or `ALERTS_FOR_STATE` without naming the alert keeps every alert of the files.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser as pp
import yaml

from rulegen import rulefile
from rulegen.lint.query import metric_name, nodes

_ALERT_SERIES = frozenset({"ALERTS", "ALERTS_FOR_STATE"})
_ALL_ALERTS = "\0every alert"  # what an ALERTS selector without an alertname reads

RuleId = tuple[int, int, int]  # (rule file, group, rule) positions in the test's rule_files


@dataclass(frozen=True)
class Slice:
    """One promtool test file to run: `test` is its text; `rule_files` the (file name, text) of
    the cut-down rule files it names; `groups` the test groups it holds."""

    groups: tuple[str, ...]
    rule_files: tuple[tuple[str, str], ...]
    test: str


def slice_test(test: Path, doc: Any) -> list[Slice] | None:
    """The slices of the parsed test file `doc` at `test`, or None to run it whole."""
    if not isinstance(doc, dict) or not isinstance(doc.get("group_eval_order", []), list):
        return None
    entries, groups = doc.get("rule_files"), doc.get("tests")
    if not isinstance(entries, list) or not entries or not isinstance(groups, list) or not groups:
        return None
    files = _rule_files(test, entries)
    if files is None:
        return None
    reads = _Reads(files)
    if not reads.ok:
        return None
    by_need: dict[frozenset[RuleId], list[dict[str, Any]]] = {}
    for group in groups:
        need = reads.closure(_asked(group)) if isinstance(group, dict) else None
        if not need:
            return None
        by_need.setdefault(need, []).append(group)
    if len(by_need) == 1 and next(iter(by_need)) == reads.every:
        return None  # nothing to cut
    return [_slice(doc, files, need, test_groups) for need, test_groups in by_need.items()]


def _rule_files(test: Path, entries: list[Any]) -> list[rulefile.RuleFile] | None:
    files = []
    for entry in entries:
        if not isinstance(entry, str) or glob.has_magic(entry):
            return None
        try:
            rules = rulefile.read(os.path.join(test.parent, entry))  # as promtool resolves it
        except (OSError, yaml.YAMLError):
            return None
        if rules.flaws or rules.rule_count is None:
            return None
        files.append(rules)
    return files


class _Reads:
    """The rules of a test's rule files and the names each reads; `ok` is False when some
    expression does not parse or reads a series it does not name."""

    def __init__(self, files: list[rulefile.RuleFile]) -> None:
        self.ok = True
        self.by_name: dict[str, list[RuleId]] = {}  # record name / alertname -> its rules
        self.reads: dict[RuleId, set[str]] = {}
        for f, rules in enumerate(files):
            for g, group in enumerate(rules.groups):
                for r, rule in enumerate(group.rules):
                    rid = (f, g, r)
                    key = rule.name if rule.kind == "record" else _alert_key(rule.name)
                    self.by_name.setdefault(key, []).append(rid)
                    if rule.is_alert:
                        self.by_name.setdefault(_ALL_ALERTS, []).append(rid)
                    names = _names(rule.expr)
                    if names is None:
                        self.ok = False
                    self.reads[rid] = names or set()
        self.every = frozenset(self.reads)

    def closure(self, asked: set[str] | None) -> frozenset[RuleId] | None:
        if asked is None:
            return None
        need: set[RuleId] = set()
        todo = list(asked)
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for rid in self.by_name.get(name, ()):
                if rid not in need:
                    need.add(rid)
                    todo.extend(self.reads[rid])
        return frozenset(need)


def _alert_key(alertname: str) -> str:
    return "ALERTS\0" + alertname


def _names(expr: str) -> set[str] | None:
    """What an expression reads: record names, `_alert_key`s, `_ALL_ALERTS`; None when that
    cannot be known."""
    try:
        parsed = pp.parse(expr)
    except (ValueError, TypeError):
        return None
    names: set[str] = set()
    for vs in _selectors(parsed):
        name = metric_name(vs)
        if name is None:
            return None
        if name in _ALERT_SERIES:
            alertname = next((m.value for m in vs.matchers.matchers
                              if m.name == "alertname" and m.op == pp.MatchOp.Equal), None)
            names.add(_ALL_ALERTS if alertname is None else _alert_key(alertname))
        else:
            names.add(name)
    return names


def _selectors(e: pp.Expr) -> Iterator[pp.VectorSelector]:
    return (n for n in nodes(e) if isinstance(n, pp.VectorSelector))


def _asked(group: dict[str, Any]) -> set[str] | None:
    """What a test group's expectations read."""
    asked: set[str] = set()
    for t in group.get("alert_rule_test") or []:
        if not isinstance(t, dict) or not isinstance(t.get("alertname"), str):
            return None
        asked.add(_alert_key(t["alertname"]))
    for t in group.get("promql_expr_test") or []:
        names = _names(str(t.get("expr", ""))) if isinstance(t, dict) else None
        if names is None:
            return None
        asked |= names
    return asked


def _slice(doc: dict[str, Any], files: list[rulefile.RuleFile], need: frozenset[RuleId],
           groups: Iterable[dict[str, Any]]) -> Slice:
    kept: list[tuple[str, str]] = []
    names: set[str] = set()  # the groups kept
    for f, rules in enumerate(files):
        cut = [{**group.data, "rules": [rule.data for r, rule in enumerate(group.rules)
                                        if (f, g, r) in need]}
               for g, group in enumerate(rules.groups)]
        cut = [group for group in cut if group["rules"]]
        names.update(str(group.get("name")) for group in cut)
        if cut:
            kept.append((f"{len(kept)}.rules.yml", _dump({"groups": cut})))
    test_groups = list(groups)
    test = {**doc, "rule_files": [name for name, _ in kept], "tests": test_groups}
    if "group_eval_order" in doc:  # the groups a slice keeps, in the same order
        test["group_eval_order"] = [g for g in doc["group_eval_order"] if g in names]
        if not test["group_eval_order"]:
            del test["group_eval_order"]
    return Slice(tuple(str(g.get("name", "")) for g in test_groups), tuple(kept), _dump(test))


# libyaml's emitter when PyYAML is built with it (about 6x faster than the Python one): a slice
# holds the same data whichever writes it.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 30)
