"""Checks of promtool test files against their rule files, for what promtool lets pass.

promtool 2.42 passes an empty expectation on a typo'd alertname, only warns about a
`rule_files` entry that matches no file, and puts samples at the wrong times in a group without
`interval`. `verify_tests` refuses these (`rulegen test` and `rulegen check` run it on the
generated output before promtool).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

import yaml

from rulegen import rulefile
from rulegen.classes import RULES_SUFFIX, is_test_file

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# --- verification --------------------------------------------------------------------------

_ALERTNAME_IN_EXPR = re.compile(r'alertname\s*=\s*"([^"]*)"')


def verify_tests(rule_files: Mapping[str, str], test_files: Mapping[str, str],
                 parsed: dict[str, Any] | None = None) -> list[str]:
    """Problems promtool would let pass silently, one message each (empty: all good).

    Keys are paths relative to one root (e.g. `rules/go/a.yml`, `tests/go/a.yml`); each test
    file's `rule_files` entries resolve relative to the test file's folder. Checks: the test
    file parses; every rule_files entry names a given rule file; every test group sets
    `interval` and a unique name; every `alertname` in `alert_rule_test`, and every
    `alertname="..."` in a `promql_expr_test`, is an alert of the referenced rule files.
    Each test file that parses is put into `parsed` (when given), so callers parse it once.
    """
    problems: list[str] = []
    rule_texts = {posixpath.normpath(path): (path, text) for path, text in rule_files.items()}
    parsed_rules: dict[str, set[str] | None] = {}

    def alerts_of(target: str) -> set[str] | None:
        """Alert names of a given rule file (None: not given); parsed once, when a test names
        it (an output without tests parses none)."""
        if target not in rule_texts:
            return None
        if target not in parsed_rules:
            path, text = rule_texts[target]
            try:
                rules = rulefile.parse(text)
            except yaml.YAMLError as exc:
                problems.append(f"{path}: not a rule file: {exc}")
                parsed_rules[target] = set()
            else:
                parsed_rules[target] = {r.name for r in rules.alerts}
                if rules.rule_count is None:  # not rule groups (promtool says so too)
                    problems.append(f"{path}: not a rule file: {rules.flaws[0].message}")
                    parsed_rules[target] = set()
        return parsed_rules[target]

    for path, text in sorted(test_files.items()):
        try:
            doc: Any = yaml.load(text, Loader=_Loader)
        except yaml.YAMLError as exc:
            problems.append(f"{path}: not YAML: {exc}")
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}: not a promtool test file")
            continue
        if parsed is not None:
            parsed[path] = doc
        here = posixpath.dirname(path)
        known: set[str] = set()
        entries = doc.get("rule_files") or []
        if not entries:
            problems.append(f"{path}: no rule_files")
        for entry in entries:
            target = posixpath.normpath(posixpath.join(here, str(entry)))
            alerts = alerts_of(target)
            if alerts is None:
                problems.append(f"{path}: rule_files entry {entry!r} resolves to {target}, "
                                "which is not a generated rule file")
            else:
                known |= alerts
        seen: set[str] = set()
        for i, group in enumerate(doc.get("tests") or []):
            name = str(group.get("name") or f"#{i + 1}")
            where = f"{path}: test group {name!r}"
            if name in seen:
                problems.append(f"{where}: duplicate group name")
            seen.add(name)
            if "interval" not in group:
                problems.append(f"{where}: no interval (promtool 2.42 puts samples at the "
                                "wrong times without it)")
            used = [str(t.get("alertname")) for t in group.get("alert_rule_test") or []]
            for t in group.get("promql_expr_test") or []:
                used += _ALERTNAME_IN_EXPR.findall(str(t.get("expr", "")))
            for alertname in used:
                if alertname not in known:
                    problems.append(f"{where}: alertname {alertname!r} is not an alert of "
                                    f"{', '.join(map(str, entries)) or 'any rule file'}")
    return problems


def verify_output(files: Mapping[str, str]) -> list[str]:
    """`verify_tests` on a compiled output tree (`Output.files`): its rule files are
    `rules/...` and the proof classes' canonical forms (`tests/classes/...rules.yml`), its
    test files the rest of `tests/` but the index (rulegen/classes.py)."""
    return verify_tests({p: t for p, t in files.items()
                         if p.startswith("rules/") or p.endswith(RULES_SUFFIX)},
                        {p: t for p, t in files.items() if is_test_file(p)})
