"""What a check sees: one rule with its positions and parsed expr, and the optional inventory
facts (scrape interval, GC period, selectors) the context-dependent checks need."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import promql_parser

from rulegen import catalog
from rulegen.errors import Problem, Severity
from rulegen.lint import query
from rulegen.yamlpos import Located, Path

if TYPE_CHECKING:
    from rulegen.loader import Loaded

Matcher = tuple[str, str, str]  # (label, op, value)
MEMORY_SIGNALS = ("heap", "resident", "runtime_used")


class Declared(NamedTuple):
    equal: frozenset[str]
    regexes: tuple[str, ...]


@dataclass(frozen=True)
class ServiceFacts:
    """What the inventory declares about one service, as the lint needs it."""

    scrape_s: int = 60
    gc_s: int = 300
    selector: tuple[Matcher, ...] = ()
    memory_metrics: frozenset[str] = frozenset()  # sawtooth under GC (not post-GC series)
    gauge_metrics: frozenset[str] = frozenset()  # every signal metric but the counters'
    counter_metrics: frozenset[str] = frozenset()  # the counter signals' (major_gcs)


@dataclass(frozen=True)
class InventoryContext:
    """Facts per service name. Checks that need it are skipped when linting without one."""

    services: Mapping[str, ServiceFacts]
    path: str = ""

    # Cached: checks ask once per rule, and an inventory may hold thousands of services.
    @functools.cached_property
    def selector_values(self) -> dict[str, Declared]:
        """Label -> the values and regexes services select it with (negative matchers left out)."""
        equal: dict[str, set[str]] = {}
        regexes: dict[str, list[str]] = {}
        for facts in self.services.values():
            for label, op, value in facts.selector:
                equal.setdefault(label, set())
                regexes.setdefault(label, [])
                if op == "=":
                    equal[label].add(value)
                elif op == "=~":
                    regexes[label].append(value)
        return {label: Declared(frozenset(equal[label]), tuple(sorted(set(regexes[label]))))
                for label in equal}

    @functools.cached_property
    def gauges(self) -> frozenset[str]:
        return frozenset(m for f in self.services.values() for m in f.gauge_metrics)

    @functools.cached_property
    def counters(self) -> frozenset[str]:
        return frozenset(m for f in self.services.values() for m in f.counter_metrics)


def inventory_context(loaded: Loaded) -> InventoryContext:
    """The lint's view of a validated inventory (`rulegen.loader.load_inventory`)."""
    services = {}
    known = catalog.load()
    for plan in loaded.plans:
        signals = plan.signals
        post_gc = known.post_gc_metrics(plan.runtime, plan.convention)  # no sawtooth in these
        services[plan.name] = ServiceFacts(
            scrape_s=plan.scrape_s, gc_s=plan.gc_s, selector=plan.selector,
            memory_metrics=frozenset(signals[s].metric for s in MEMORY_SIGNALS
                                     if s in signals and signals[s].metric not in post_gc),
            gauge_metrics=frozenset(s.metric for name, s in signals.items()
                                    if name not in catalog.COUNTER_SIGNALS),
            counter_metrics=frozenset(s.metric for name, s in signals.items()
                                      if name in catalog.COUNTER_SIGNALS))
    return InventoryContext(services, loaded.path)


@dataclass(frozen=True)
class Origin:
    """The inventory line a generated file names in its header; for a rule class's file
    (output.layout: classes) the class, its first member as `service` (the members share their
    settings) and how many there are, with no line (the members' lines are many)."""

    inventory: str
    service: str
    line: int
    cls: str = ""
    members: int = 1

    def __str__(self) -> str:
        return f"{self.inventory}:{self.line}" if self.line else self.inventory

    @property
    def about(self) -> str:
        """Whom a finding on the file concerns."""
        if not self.cls:
            return f"service {self.service}"
        more = f" and {self.members - 1} more" if self.members > 1 else ""
        return f"rule class {self.cls}: {self.service or 'members unknown'}{more}"


@dataclass
class RuleContext:
    """One rule of one file. `expr` is None when the text did not parse (`parse_error` says why)."""

    located: Located
    loc: Path  # ("groups", g, "rules", r)
    rule: dict[str, Any]
    expr_text: str
    expr: promql_parser.Expr | None
    parse_error: str | None = None
    for_s: float | None = None
    origin: Origin | None = None
    service: ServiceFacts | None = None
    inventory: InventoryContext | None = None
    scrape_s: int = 60
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def nodes(self) -> list[promql_parser.Expr]:
        """Every node of the expr, parents first; computed once for all checks."""
        return list(query.nodes(self.expr)) if self.expr is not None else []

    def calls(self, names: frozenset[str]) -> list[promql_parser.Call]:
        return [n for n in self.nodes if isinstance(n, promql_parser.Call) and n.func.name in names]

    @property
    def path(self) -> str:
        return self.located.path

    @property
    def is_alert(self) -> bool:
        return "alert" in self.rule

    @property
    def name(self) -> str:
        return str(self.rule.get("alert", self.rule.get("record", "")))

    def where(self, sub: Path = (), *, key: bool = False) -> tuple[int, int]:
        return self.located.where((*self.loc, *sub), key=key)

    def problem(self, sub: Path, message: str, check: str, severity: Severity,
                *, key: bool = False) -> Problem:
        """A problem at field `sub` of this rule; generated rules also name the inventory line,
        since that is the file a human edits."""
        line, col = self.where(sub, key=key)
        return Problem(self.path, line, col, message + self.suffix, check, severity)

    @property
    def suffix(self) -> str:
        """What a finding on a generated rule adds: the inventory line a human edits."""
        return f" (from {self.origin}, {self.origin.about})" if self.origin else ""
