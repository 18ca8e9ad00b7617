"""Proof classes: services whose rule files differ only in identity values share one proof.

A service's *identity values* are the strings that name it and route its alerts: its name, its
owner, its description, the values of its routing labels and links, the values of its selector's
equality matchers, and the inventory line its header names. PromQL cannot tell two services
apart by them: `{job="checkout"}` on series with `job="checkout"` evaluates exactly as
`{job="cart"}` on series with `job="cart"`. Everything else (a threshold, a window, a regex or
negative matcher, an extra matcher, a metric name, a limit) is part of the rules' behaviour.

The *canonical form* of a service is its rule file rendered from the inventory with each
identity value replaced by a numbered placeholder (`@rulegen-id-3@`), through the same planning
and templates as the real file. A service joins the class of its canonical form only when its
real rule file is exactly that form with the placeholders replaced by its own values (so a
template that does anything with a value but print it, or a value whose quoting differs, leaves
the service in a class of its own). Each class is proved once, by the generated tests of its
first service (in inventory order); `tests/classes.yml` maps every service to its class.
docs/classes.md has the why and the layout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rulegen.errors import Severity
from rulegen.inventory import Inventory, Service
from rulegen.model import ServicePlan, plan
from rulegen.text import yaml_string
from rulegen.yamlpos import Located

INDEX = "tests/classes.yml"  # in the output directory
_TOKEN = "@rulegen-id-{}@"
_TOKEN_RE = re.compile(r"@rulegen-id-(\d+)@")


# --- the canonical form -------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The identity values of one service, by placeholder number."""

    values: tuple[str, ...]

    def instantiate(self, canonical: str) -> str:
        """`canonical` with every placeholder replaced by this service's value (one pass: a
        value that looks like a placeholder is not replaced again)."""
        return _TOKEN_RE.sub(lambda m: self.values[int(m[1])], canonical)


def canonical_service(svc: Service, p: ServicePlan) -> tuple[Service, Identity]:
    """`svc` with its identity values replaced by placeholders, and those values. Placeholder
    0 is the line (set on the canonical plan, `canonical_plans`), 1 the name; the effective
    owner, labels and links (the service's own merged with the defaults) are set on the
    service, so defaults cannot bring a real value back."""
    values: list[str] = [str(p.line)]

    def token(value: str) -> str:
        values.append(value)
        return _TOKEN.format(len(values) - 1)

    update: dict[str, Any] = {"name": token(p.name), "owner": token(p.owner)}
    if p.description:
        update["description"] = token(p.description)
    if p.labels:
        update["labels"] = {k: token(v) for k, v in p.labels}
    if p.links:
        update["links"] = {k: token(v) for k, v in p.links}
    if svc.selector:  # equality matchers only: a regex or negative matcher is behaviour
        update["selector"] = {k: token(v) if isinstance(v, str) else v
                              for k, v in sorted(svc.selector.items())}
    return svc.model_copy(update=update), Identity(tuple(values))


def canonical_plans(inventory: Inventory | None, located: Located | None,
                    plans: list[ServicePlan]
                    ) -> list[tuple[ServicePlan, Identity] | None]:
    """The canonical plan and identity of each of `plans` (aligned with inventory.services),
    planned by the same code as the real ones; None for a service whose canonical form could
    not be planned (it stays in a class of its own)."""
    if inventory is None or located is None or len(inventory.services) != len(plans):
        return [None] * len(plans)
    services = inventory.services
    pairs = [canonical_service(s, p) for s, p in zip(services, plans, strict=True)]
    canon, problems = plan(inventory.model_copy(update={"services": [s for s, _ in pairs]}),
                           located, list(range(len(pairs))))
    if len(canon) != len(plans) or any(p.severity == Severity.ERROR for p in problems):
        return [None] * len(plans)
    return [(dataclasses.replace(c, line=_TOKEN.format(0)), ident)  # type: ignore[arg-type]
            for c, (_, ident) in zip(canon, pairs, strict=True)]


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- building the classes while rendering --------------------------------------------------


def member(runtime: str, service: str) -> str:
    """How the index and the reports name a service: `go/checkout`."""
    return f"{runtime}/{service}"


@dataclass
class ClassPart:
    """The classes of one run of services (the whole inventory, or one parallel chunk):
    each service's class in order, and the test file of each class's first service here."""

    members: list[tuple[str, str]] = field(default_factory=list)  # (class key, member)
    # class key -> (member, test file path, test file text)
    tests: dict[str, tuple[str, str, str]] = field(default_factory=dict)


class ClassBuilder:
    """Fed each service's plan and rendered rule file in order; `render_canonical` renders a
    canonical plan, `render_test` the test file of a service (path, text)."""

    def __init__(self, render_canonical: Callable[[ServicePlan], str],
                 render_test: Callable[[ServicePlan, str], tuple[str, str]]) -> None:
        self._canonical = render_canonical
        self._test = render_test
        self._texts: dict[str, str] = {}  # repr(canonical plan) -> canonical text
        self.part = ClassPart()

    def add(self, p: ServicePlan, rules: str,
            canonical: tuple[ServicePlan, Identity] | None) -> None:
        key = None
        if canonical is not None:
            cplan, ident = canonical
            shape = repr(cplan)
            text = self._texts.get(shape)
            if text is None:
                text = self._texts[shape] = self._canonical(cplan)
            if ident.instantiate(text) == rules:
                key = digest(text)
        name = member(p.runtime, p.name)
        key = key or "service:" + name
        self.part.members.append((key, name))
        if key not in self.part.tests:
            self.part.tests[key] = (name, *self._test(p, rules))


def class_files(parts: Iterable[ClassPart], source: str) -> dict[str, str]:
    """The test file of each class (its first service's, over all parts in order) and the
    index."""
    first: dict[str, tuple[str, str, str]] = {}
    members: dict[str, list[str]] = {}
    for part in parts:
        for key, name in part.members:
            members.setdefault(key, []).append(name)
        for key, test in part.tests.items():
            first.setdefault(key, test)
    if not members:
        return {}
    files = {path: text for _, path, text in first.values()}
    files[INDEX] = index_text(source, [(first[k][1], k, names) for k, names in members.items()])
    return files


def index_text(source: str, classes: list[tuple[str, str, list[str]]]) -> str:
    """tests/classes.yml: (test file, class key, members) per class."""
    lines = [f"# Generated by rulegen from {source}. DO NOT EDIT.",
             "# Proof classes (docs/classes.md): the services of a class have rule files that "
             "differ only",
             "# in identity values; the class is proved once, by its test file, on its first "
             "service.",
             "classes:"]
    for path, key, names in classes:
        lines.append(f"  - tests: {yaml_string(path.removeprefix('tests/'))}")
        if not key.startswith("service:"):
            lines.append(f"    canonical: {yaml_string(key)}")
        lines.append("    services:")
        lines += [f"      - {yaml_string(n)}" for n in names]
    return "\n".join(lines) + "\n"


# --- reading the index (rulegen test, check) ----------------------------------------------


@dataclass(frozen=True)
class ProofClass:
    tests: str  # the test file, relative to tests/: go/checkout.yml
    services: tuple[str, ...]  # go/checkout, go/cart, ...


class ClassIndexError(ValueError):
    """tests/classes.yml is not what rulegen writes."""


def read_index(out: Path) -> list[ProofClass] | None:
    """The classes of an output tree; None when it has no index (every test file then proves
    the service it is named after). ClassIndexError for an index rulegen did not write."""
    path = out / INDEX
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ClassIndexError(f"cannot read it: {exc}") from None
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ClassIndexError(f"not YAML: {exc}") from None
    entries = doc.get("classes") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ClassIndexError("expected a mapping with a classes: list")
    found: list[ProofClass] = []
    for n, e in enumerate(entries, start=1):
        tests = e.get("tests") if isinstance(e, dict) else None
        services = e.get("services") if isinstance(e, dict) else None
        if (not isinstance(tests, str) or not isinstance(services, list) or not services
                or not all(isinstance(s, str) for s in services)):
            raise ClassIndexError(f"class {n}: expected tests: <file> and a services: list")
        found.append(ProofClass(tests, tuple(services)))
    return found


__all__ = ["INDEX", "ClassBuilder", "ClassPart", "Identity", "ProofClass", "canonical_plans",
           "canonical_service", "class_files", "read_index"]
