"""Whom a rule file is about: one service (the default layout), or a *rule class*, the services
whose rules differ only in their names (`output.layout: classes`, docs/classes.md).

A rule class is a proof class (rulegen/classes.py) whose services are selected by the default
selector, `<selector_label>="<name>"`, and whose other identity values (owner, routing labels,
links, description) are equal. Its one rule file evaluates each rule once for all its members:

- the selector's matcher is a regex over the members (`job=~"cart|checkout"`);
- each result carries `service`, copied from that label (`label_replace`), where a service's
  own file sets it as a static label; what it records is tagged `rulegen_class` and its alerts
  select those series by it (one postings lookup, where `service=~` over the members is one per
  member);
- the alerts carry `rulegen_class` as a label too, and the annotations name the service by
  `{{ $labels.service }}`;
- `absent_over_time` over a regex cannot say which member is missing, so the class records its
  members (`rulegen:class_member`, one series each, in a file of their own) and the telemetry
  alert is "a member with no sample in the window".

`Scope` is what the templates ask: how to name the service, select and label recorded series,
and widen a selector. It builds its PromQL through rulegen/promql.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rulegen.model import Limit, ServicePlan
from rulegen.promql import (
    NO_SERIES,
    Series,
    alternation,
    constant_series,
    copy_label,
    label_list,
    last_sample,
    selector,
    union,
)
from rulegen.recording import LIMIT_LABEL, LIMIT_METRIC
from rulegen.text import annotation_text, promql_string, yaml_string

CLASS_LABEL = "rulegen_class"
MEMBER_METRIC = "rulegen:class_member"
CLASSES_DIR = "rules/classes"  # not a runtime's name: no service's file can be here


def class_rules_path(cls: str) -> str:
    return f"{CLASSES_DIR}/{cls}.yml"


def members_rules_path(cls: str) -> str:
    return f"{CLASSES_DIR}/{cls}.members.yml"


def class_group(cls: str) -> str:
    """The name of a class's rule group."""
    return f"rulegen.class.{cls}"


def members_group(cls: str) -> str:
    """The name of a class's members group."""
    return f"{class_group(cls)}.members"


def is_members_file(rel: str) -> bool:
    return rel.startswith(CLASSES_DIR + "/") and rel.endswith(".members.yml")


def is_class_file(rel: str) -> bool:
    """A rule class's rule file (not its members), by its path in the output."""
    return rel.startswith(CLASSES_DIR + "/") and not is_members_file(rel)


@dataclass(frozen=True)
class Scope:
    """One service (`label` empty), or a rule class: `name` is then the value each member's
    selector matcher `label` has in the plan being rendered (a placeholder in a class's
    canonical form), `regex` the regex over the members that replaces it, `cls` the class's
    id."""

    name: str
    label: str = ""
    regex: str = ""
    cls: str = ""

    member_metric = MEMBER_METRIC

    @property
    def is_class(self) -> bool:
        return bool(self.label)

    @property
    def own_labels(self) -> str:
        """The labels a recorded series has and the application's series do not (`ignoring`
        them matches the two)."""
        return label_list(("rulegen_class", "service") if self.is_class else ("service",))

    @property
    def text(self) -> str:
        """The service's name inside an annotation."""
        return "{{ $labels.service }}" if self.is_class else annotation_text(self.name)

    def selector_text(self, series: Series) -> str:
        """A selector inside an annotation: a class's shows each member's own value."""
        if not self.is_class:
            return annotation_text(series.sel)
        token = "@rulegen-member@"  # no service's selector has it
        mine = Series(series.metric, tuple((n, "=", token) if (n, op) == (self.label, "=~")
                                           else (n, op, v) for n, op, v in series.matchers))
        return annotation_text(mine.sel).replace(token, f"{{{{ $labels.{self.label} }}}}")

    def named(self, expr: str) -> str:
        """`expr` with the `service` label (a class's, from its selector label)."""
        return copy_label(expr, "service", self.label) if self.is_class else expr

    @property
    def record_labels(self) -> list[tuple[str, str]]:
        return [(CLASS_LABEL, self.cls)] if self.is_class else [("service", self.name)]

    def recorded(self, name: str, **labels: str) -> str:
        """The selector of this scope's recorded series `name`."""
        own = dict(self.record_labels)
        return selector(name, sorted([(k, "=", v) for k, v in {**labels, **own}.items()]))

    def widen(self, series: Series) -> Series:
        return series.widened(self.label, self.name, self.regex) if self.is_class else series

    def alert_labels(self, labels: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        if not self.is_class:
            return labels
        return tuple(sorted([(k, v) for k, v in labels if k != "service"]
                            + [(CLASS_LABEL, self.cls)]))

    def plan(self, p: ServicePlan) -> ServicePlan:
        """`p` as its rules see it in this scope: selectors widened, the limit's own series
        selected for the scope, the alerts' static labels."""
        if not self.is_class:
            return p
        signals = {k: self.widen(s) for k, s in p.signals.items()}
        alerts = tuple(dataclasses.replace(a, labels=self.alert_labels(a.labels))
                       for a in p.alerts)
        return dataclasses.replace(p, signals=signals, alerts=alerts,
                                   limit=self._limit(p.limit, signals, p.eval_s))

    def _limit(self, limit: Limit | None, signals: dict[str, Series],
               every: int | None) -> Limit | None:
        if limit is None or limit.kind == "static":
            return limit
        if limit.kind == "runtime":  # the members' own limits, named like the numerators
            own = self.named(signals["runtime_limit"].value)
            return dataclasses.replace(limit, expr=f"({own} > 0)", raw=own,
                                       own=self.own_labels)
        assert limit.fleet is not None
        # Every service's limit of this definition (the fleet's recording names each by its
        # service): the ratio matches on the join's labels and `service`, so services that
        # share a pod (or whatever the join's labels are) are not matched with each other.
        own = last_sample(selector(LIMIT_METRIC, [(LIMIT_LABEL, "=", limit.fleet.id)]), every,
                          other_group=True)
        return dataclasses.replace(limit, expr=f"({own} > 0)", raw=own, own=self.own_labels,
                                   by_service=True)


def members_expr(label: str, members: Sequence[str]) -> str:
    """One series per member: {service="<m>", <label>="<m>"}."""
    return union([constant_series([("service", m), (label, m)]) for m in members])


def class_regex(members: Sequence[str]) -> str:
    """The members as the inside of the quotes of `label=~"..."`."""
    return promql_string(alternation(members))[1:-1]


def members_problem(class_file: str, members_file: str, services: Sequence[str],
                    cls: str) -> str | None:
    """Why a class's members file does not record exactly `services` as its class file
    (`class_file`, the class `cls`) names them, or None."""
    label = _MEMBER_LABEL.search(members_file)
    if label is None or class_members(members_file) != list(services):
        return f"does not record the class's services ({', '.join(services)})"
    expected = members_expr(label[1], services)
    if (" ".join(expected.split()) not in " ".join(members_file.split())
            or copy_label("", "service", label[1]).removeprefix("label_replace(")
            not in class_file or f'{CLASS_LABEL}: {yaml_string(cls)}' not in members_file):
        return "is not what rulegen writes for the class"
    return None


NO_SERIES_RE = re.escape(f"absent({NO_SERIES}")  # members_expr's terms (constant_series)
_MEMBER_LABEL = re.compile(NO_SERIES_RE + r'\{service="[^"]*", (\w+)="')


def class_members(members_file: str) -> list[str]:
    """The services a class's members file records (`members_expr`), in order."""
    return _MEMBER.findall(members_file)


_MEMBER = re.compile(NO_SERIES_RE + r'\{service="([^"]*)"')  # service names hold no `"`


def class_services(rule_file: str, values: Sequence[str]) -> tuple[str, ...]:
    """The services (`go/cart`) of a class file named in the index (`classes/go-<id>`), from
    its identity values: the members' regex is the second (service names hold no `|`)."""
    regex = values[1].replace("\\\\", "\\")  # the PromQL string's escaping
    runtime = class_runtime(rule_file)
    return tuple(runtime + "/" + _UNESCAPE.sub(r"\1", m) for m in regex.split("|"))


def class_runtime(rule_file: str) -> str:
    """The runtime of a class file named in the index (`classes/go-<id>`)."""
    return rule_file.removeprefix(CLASSES_DIR.removeprefix("rules/") + "/").rsplit("-", 1)[0]


_UNESCAPE = re.compile(r"\\(.)")  # a regex's escaped character (alternation)


__all__ = ["CLASSES_DIR", "CLASS_LABEL", "MEMBER_METRIC", "Scope", "class_members",
           "class_regex", "class_rules_path", "class_runtime", "class_services",
           "is_class_file", "is_members_file", "members_expr", "members_problem",
           "members_rules_path"]
