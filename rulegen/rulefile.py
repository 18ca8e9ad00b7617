"""Prometheus rule files, read once: groups of alerting and recording rules.

The one reader of rule files in rulegen. The generated tests (`rulegen.testgen` takes each
alert's labels and annotations from the rendered rules), `rulegen.verify`, `rulegen diff`,
promtool's rule count (`count_rules`) and the lint (which loads the YAML with positions itself
and hands the data to `from_data`) all see a rule file through it.

`from_data` never raises: what is not a rule is left out, with a `Flaw` saying where (a path
into the data, `("groups", 0, "rules", 2, "expr")`) and what is wrong. `RuleFile.rule_count` is
the number of rules promtool finds in the file, counted as promtool does (every entry of every
group's `rules`, valid or not), or None when the file is not rule groups to promtool either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import yaml

Loc = tuple[str | int, ...]  # a path into the file's data: ("groups", g, "rules", r, key)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when built with it


@dataclass(frozen=True)
class Flaw:
    """Something in the file that is not a rule file's shape (the rule it hits is left out)."""

    loc: Loc
    message: str


@dataclass(frozen=True)
class Rule:
    """One alerting or recording rule, its values as text."""

    kind: str  # "alert" | "record"
    name: str  # the alert: or record: name
    expr: str
    labels: dict[str, str]  # a null value is ""
    annotations: dict[str, str]
    for_: str | None  # `for:` as written (None: not given)
    loc: Loc  # ("groups", g, "rules", r)
    data: dict[Any, Any]  # the rule's mapping as read (which keys were written)

    @property
    def is_alert(self) -> bool:
        return self.kind == "alert"


@dataclass(frozen=True)
class Group:
    name: str
    rules: tuple[Rule, ...]
    data: dict[Any, Any] = field(default_factory=dict, compare=False)  # the group as read


@dataclass(frozen=True)
class RuleFile:
    groups: tuple[Group, ...] = ()
    flaws: tuple[Flaw, ...] = ()
    rule_count: int | None = 0  # as promtool counts; None: not rule groups to promtool

    @property
    def rules(self) -> list[Rule]:
        return [r for g in self.groups for r in g.rules]

    @property
    def alerts(self) -> list[Rule]:
        return [r for g in self.groups for r in g.rules if r.is_alert]

    def find(self, alertname: str, signal: str | None = None) -> list[Rule]:
        """The alerting rules named `alertname` (with label `signal`, when given)."""
        return [r for r in self.alerts if r.name == alertname
                and (signal is None or r.labels.get("signal") == signal)]

    def signals(self, alertname: str) -> list[str]:
        """The `signal` labels of the alerting rules named `alertname`, in file order."""
        return [r.labels["signal"] for r in self.alerts
                if r.name == alertname and "signal" in r.labels]

    def has(self, alertname: str) -> bool:
        return any(r.name == alertname for r in self.alerts)


def parse(text: str | bytes) -> RuleFile:
    """A rule file's text (bytes: YAML's own encoding detection). Raises `yaml.YAMLError`."""
    return from_data(yaml.load(text, Loader=_Loader))


def read(path: str | os.PathLike[str]) -> RuleFile:
    """The rule file at `path`. Raises `OSError` and `yaml.YAMLError`."""
    with open(path, "rb") as fh:
        return from_data(yaml.load(fh, Loader=_Loader))


def count_rules(path: str | os.PathLike[str]) -> int | None:
    """The number of rules promtool should find in a rule file: the entries of every group's
    `rules` list, alerting and recording alike, as promtool counts them. None if the file does
    not read or parse as rule groups here (promtool's verdict on it is then taken as it is)."""
    try:
        return read(path).rule_count
    except (OSError, yaml.YAMLError):
        return None


def from_data(data: Any) -> RuleFile:
    """The rule file in data loaded from YAML (by `parse`, or by a loader that keeps positions)."""
    flaws: list[Flaw] = []
    count = _count(data)
    if data is None:  # an empty file: no rules, nothing wrong
        return RuleFile(rule_count=count)
    groups = data.get("groups") if isinstance(data, dict) else None
    if not isinstance(groups, list):
        return RuleFile((), (Flaw((), "a rule file is a mapping with a groups: list"),), count)
    out: list[Group] = []
    for g, group in enumerate(groups):
        entries = group.get("rules") if isinstance(group, dict) else None
        if not isinstance(entries, list):
            flaws.append(Flaw(("groups", g), "a group needs a rules: list"))
            continue
        rules = (_rule(("groups", g, "rules", r), entry, flaws) for r, entry in enumerate(entries))
        out.append(Group(str(group.get("name", "")), tuple(r for r in rules if r is not None),
                         group))
    return RuleFile(tuple(out), tuple(flaws), count)


def _count(data: Any) -> int | None:
    if not isinstance(data, (dict, type(None))):
        return None
    groups = (data or {}).get("groups") or []  # an empty file has no rules, as promtool says
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        return None
    rule_lists = [g.get("rules") or [] for g in groups]
    if not all(isinstance(r, list) for r in rule_lists):
        return None
    return sum(map(len, rule_lists))


def _rule(loc: Loc, rule: Any, flaws: list[Flaw]) -> Rule | None:
    def flaw(sub: Loc, message: str) -> None:
        flaws.append(Flaw((*loc, *sub), message))

    if not isinstance(rule, dict) or not ("alert" in rule) ^ ("record" in rule):
        flaw((), "a rule is a mapping with exactly one of alert: or record:")
        return None
    kind = "alert" if "alert" in rule else "record"
    name = rule[kind]
    if not isinstance(name, str) or not name:
        flaw((kind,), f"{kind}: must be a name")
        return None
    expr = rule.get("expr")
    if not isinstance(expr, str | int | float) or isinstance(expr, bool):
        flaw(("expr",) if "expr" in rule else (), "the rule needs an expr: string")
        return None
    maps: dict[str, dict[str, str]] = {}
    for key in ("labels", "annotations"):
        value = rule.get(key) or {}
        if not isinstance(value, dict):
            flaw((key,), f"{key}: must be a mapping of names to strings")
            value = {}
        maps[key] = {str(k): "" if v is None else str(v) for k, v in value.items()}
    return Rule(kind, name, str(expr), maps["labels"], maps["annotations"],
                str(rule["for"]) if "for" in rule else None, loc, rule)
