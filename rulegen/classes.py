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
the service in a class of its own). Each class is proved once, on its canonical form itself: the
canonical rule file (`tests/classes/<runtime>/<digest>.rules.yml`, placeholders in place of
the identity values) and the tests generated for it (`...<digest>.yml`), whose series carry
the placeholders. Which services a class holds, or which one comes first, does not change
those two files. `tests/classes.yml` maps every service to its class, with its identity
values, so `rulegen test` can check that each service's rule file is its class's canonical
form with its own values put back. A service whose rules do not pass for their canonical form
(see above), or whose tests do not, is a class of its own, proved by its own test file
(`tests/<runtime>/<service>.yml`). docs/classes.md has the why and the layout.
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

from rulegen.cases import TestgenError
from rulegen.errors import Severity
from rulegen.inventory import Inventory, Service
from rulegen.model import ServicePlan, plan
from rulegen.text import yaml_string
from rulegen.yamlpos import Located

INDEX = "tests/classes.yml"  # in the output directory
CLASS_DIR = "tests/classes"  # the canonical rule and test files, by runtime
RULES_SUFFIX = ".rules.yml"
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


def placeholder(n: int) -> str:
    """The placeholder of identity value `n` in a canonical form."""
    return _TOKEN.format(n)


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
    # A plan depends on the service entry, the defaults, and its index only for the line (a
    # placeholder here): equal canonical entries are planned once.
    first: dict[str, int] = {}
    shapes = [first.setdefault(s.model_dump_json(), i) for i, (s, _) in enumerate(pairs)]
    unique = sorted(set(shapes))
    canon, problems = plan(inventory.model_copy(update={"services": [pairs[i][0] for i in unique]}),
                           located, unique)
    if len(canon) != len(unique) or any(p.severity == Severity.ERROR for p in problems):
        return [None] * len(plans)
    by_first = {i: dataclasses.replace(c, line=_TOKEN.format(0))  # type: ignore[arg-type]
                for i, c in zip(unique, canon, strict=True)}
    return [(by_first[shape], ident) for shape, (_, ident) in zip(shapes, pairs, strict=True)]


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- building the classes while rendering --------------------------------------------------


def member(runtime: str, service: str) -> str:
    """How the index and the reports name a service: `go/checkout`."""
    return f"{runtime}/{service}"


def class_paths(runtime: str, key: str) -> tuple[str, str]:
    """The canonical rule file and test file of a class, in the output directory."""
    stem = f"{CLASS_DIR}/{runtime}/{key.removeprefix('sha256:')[:16]}"
    return stem + RULES_SUFFIX, stem + ".yml"


def is_test_file(rel: str) -> bool:
    """A promtool test file of an output tree (`tests/go/cart.yml`,
    `tests/classes/go/<digest>.yml`): not the index, not a canonical rule file."""
    return (rel.startswith("tests/") and rel.endswith(".yml") and rel != INDEX
            and not rel.endswith(RULES_SUFFIX))


# A test renderer: (plan, rule file text, that rule file relative to the test file, the output
# root relative to the test file) -> the test file's text.
RenderTest = Callable[[ServicePlan, str, str, str], str]


@dataclass
class ClassPart:
    """The classes of one run of services (the whole inventory, or one parallel chunk):
    each service's class in order with its identity values (None for a class of its own),
    and the files that prove each class, from the first service that has it here."""

    members: list[tuple[str, str, tuple[str, ...] | None]] = field(default_factory=list)
    tests: dict[str, dict[str, str]] = field(default_factory=dict)  # class key -> files
    # output.layout: classes: the canonical plan of each class whose services share a rule
    # file (rulegen/layout.py), by class key
    plans: dict[str, ServicePlan] = field(default_factory=dict)


class ClassBuilder:
    """Fed each service's plan and rendered rule file in order; `render_canonical` renders a
    canonical plan's rule file, `render_test` a test file (`RenderTest`), `own_paths` a
    service's rule file and own test file in the output directory."""

    def __init__(self, render_canonical: Callable[[ServicePlan], str], render_test: RenderTest,
                 own_paths: Callable[[ServicePlan], tuple[str, str]],
                 rule_classes: bool = False) -> None:
        self._rule_classes = rule_classes
        self._canonical = render_canonical
        self._test = render_test
        self._own = own_paths
        self._by_plan: dict[int, str] = {}  # id(canonical plan) -> canonical text
        self._plans: list[ServicePlan] = []
        self._refused: set[str] = set()  # classes whose canonical tests are not the services'
        self.part = ClassPart()

    def add(self, p: ServicePlan, rules: str,
            canonical: tuple[ServicePlan, Identity] | None) -> bool:
        """True: (with rule classes) the service's rules go into its rule class's file."""
        name = member(p.runtime, p.name)
        if canonical is not None:
            cplan, ident = canonical
            text = self._by_plan.get(id(cplan))  # canonical plans are shared (canonical_plans)
            if text is None:
                text = self._by_plan[id(cplan)] = self._canonical(cplan)
                self._plans.append(cplan)  # alive, so its id is not reused
            key = digest(text)
            if (ident.instantiate(text) == rules and key not in self._refused
                    and (key in self.part.tests
                         or self._prove_canonically(key, cplan, text, p, ident, rules))):
                self.part.members.append((key, name, ident.values))
                if self._rule_classes and class_label(cplan) is not None:
                    self.part.plans.setdefault(key, cplan)
                    return True
                return False
        key = "service:" + name
        self.part.members.append((key, name, None))
        rules_rel, test_rel = self._own(p)
        root = to_root(test_rel)
        self.part.tests[key] = {test_rel: self._test(p, rules, f"{root}/{rules_rel}", root)}
        return False

    def _prove_canonically(self, key: str, cplan: ServicePlan, text: str, p: ServicePlan,
                           ident: Identity, rules: str) -> bool:
        """Adds the class's canonical rule and test files, if its canonical tests are the
        first service's own tests with the placeholders in place of its values (the test
        generator treats identity values as opaque too); else refuses the class. Refused: a
        regex matcher the made-up labels must match (a pod named after the service)."""
        rules_rel, test_rel = class_paths(p.runtime, key)
        ref, root = rules_rel.rsplit("/", 1)[1], to_root(test_rel)
        try:  # made-up labels may have to match a regex the placeholder does not
            test = self._test(cplan, text, ref, root)
        except TestgenError:
            test = None
        if test is None or ident.instantiate(test) != self._test(p, rules, ref, root):
            self._refused.add(key)
            return False
        self.part.tests[key] = {rules_rel: text, test_rel: test}
        return True


def class_label(cplan: ServicePlan) -> str | None:
    """The label that names each service of a canonical plan, if its services can share a rule
    file (rulegen/layout.py): the default selector, `<label>="<name>"`, and nothing else."""
    if len(cplan.selector) == 1:
        label, op, value = cplan.selector[0]
        if op == "=" and value == _TOKEN.format(1):
            return label
    return None


def to_root(test_rel: str) -> str:
    """The output root relative to a test file's folder."""
    return "/".join([".."] * test_rel.count("/"))


# (class key, its canonical plan, its services and their identity values) -> the files that
# prove it and hold its rules, and its index entries: output.layout: classes (generate.py)
Regroup = Callable[[str, ServicePlan, list[tuple[str, tuple[str, ...] | None]]],
                   tuple[dict[str, str], list[tuple[str, str, list[tuple[str, tuple[str, ...]
                                                                         | None]]]]]]


def class_files(parts: Iterable[ClassPart], source: str,
                regroup: Regroup | None = None) -> dict[str, str]:
    """The files that prove each class (from its first service, over all parts in order)
    and the index. With `regroup`, the classes whose services share a rule file are proved
    and indexed as `regroup` says."""
    first: dict[str, dict[str, str]] = {}
    members: dict[str, list[tuple[str, tuple[str, ...] | None]]] = {}
    plans: dict[str, ServicePlan] = {}
    for part in parts:
        for key, name, values in part.members:
            members.setdefault(key, []).append((name, values))
        for key, proof in part.tests.items():
            first.setdefault(key, proof)
        for key, cplan in part.plans.items():
            plans.setdefault(key, cplan)
    if not members:
        return {}
    files: dict[str, str] = {}
    entries: dict[str, tuple[str, list[tuple[str, tuple[str, ...] | None]]]] = {}
    for k, names in members.items():
        if regroup is not None and k in plans:
            made, indexed = regroup(k, plans[k], names)
            files.update(made)
            for test, key, services in indexed:
                entries.setdefault(key, (test, []))[1].extend(services)
        else:
            files.update(first[k])
            entries[k] = (next(p for p in first[k] if is_test_file(p)), names)
    files[INDEX] = index_text(source, [(test, k, names) for k, (test, names) in entries.items()])
    return files


def index_text(source: str,
               classes: list[tuple[str, str, list[tuple[str, tuple[str, ...] | None]]]]) -> str:
    """tests/classes.yml: (test file, class key, members and their identity values) per
    class."""
    lines = [f"# Generated by rulegen from {source}. DO NOT EDIT.",
             "# Proof classes (docs/classes.md): the services of a class have rule files that "
             "differ only in",
             "# identity values; the class is proved once, on its canonical form (tests/classes/)."
             " identity:",
             "# each service's values of the placeholders @rulegen-id-0@, @rulegen-id-1@, ...",
             "classes:"]
    for path, key, names in classes:
        lines.append(f"  - tests: {yaml_string(path.removeprefix('tests/'))}")
        if not key.startswith("service:"):
            lines.append(f"    canonical: {yaml_string(key)}")
        lines.append("    services:")
        for name, values in names:
            lines.append(f"      - service: {yaml_string(name)}")
            if values is not None:
                lines.append(f"        identity: [{', '.join(map(yaml_string, values))}]")
    return "\n".join(lines) + "\n"


# --- reading the index (rulegen test, check) ----------------------------------------------


@dataclass(frozen=True)
class ProofClass:
    tests: str  # the test file, relative to tests/: classes/go/<digest>.yml, go/checkout.yml
    services: tuple[str, ...]  # go/checkout, go/cart, ...
    canonical: str | None = None  # sha256:... of the canonical rule file; None: a service alone
    identities: tuple[tuple[str, ...] | None, ...] = ()  # each service's identity values

    @property
    def rules(self) -> str | None:
        """The canonical rule file, relative to tests/ (None: a service alone)."""
        return self.tests.removesuffix(".yml") + RULES_SUFFIX if self.canonical else None


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
    return [_proof_class(n, e) for n, e in enumerate(entries, start=1)]


def _proof_class(n: int, e: Any) -> ProofClass:
    tests = e.get("tests") if isinstance(e, dict) else None
    services = e.get("services") if isinstance(e, dict) else None
    canonical = e.get("canonical") if isinstance(e, dict) else None
    if (not isinstance(tests, str) or not isinstance(services, list) or not services
            or not isinstance(canonical, str | None)):
        raise ClassIndexError(f"class {n}: expected tests: <file>, canonical: <digest> (or "
                              "none) and a services: list")
    names: list[str] = []
    identities: list[tuple[str, ...] | None] = []
    for s in services:
        name = s.get("service") if isinstance(s, dict) else None
        values = s.get("identity") if isinstance(s, dict) else None
        if (not isinstance(name, str) or (values is None) != (canonical is None)
                or not (values is None or (isinstance(values, list)
                                           and all(isinstance(v, str) for v in values)))):
            raise ClassIndexError(f"class {n}: expected each service as service: <runtime/name>"
                                  ", with identity: [values] in a class with a canonical form")
        names.append(name)
        identities.append(tuple(values) if values is not None else None)
    return ProofClass(tests, tuple(names), canonical, tuple(identities))


__all__ = ["CLASS_DIR", "INDEX", "RULES_SUFFIX", "ClassBuilder", "ClassPart", "Identity",
           "ProofClass", "Regroup", "canonical_plans", "canonical_service", "class_files",
           "class_label", "class_paths", "digest", "is_test_file", "placeholder", "read_index",
           "to_root"]
