"""Fuzz the real CLI with mutated inventories (issue 12 item 8).

Each example starts from a valid inventory (a slice of examples/otel-demo/inventory.yaml or a
small generated one), mutates it (value types, nasty Unicode in strings, YAML features: anchors
and aliases, merge keys, flow and block style, YAML 1.1 words, tags; deleted and duplicated
keys, out-of-range numbers; raw text and byte edits) and runs `rulegen generate --out
<tmp>/rules_out` in-process over a `rules_out/` that already holds a previous good output, then
`rulegen validate`. For every example:

- the exit code is 0 or 2 (never 70), and no traceback is printed;
- exit 2: every stderr line is a `file:line:col: ` problem (line and col >= 1 and inside the
  file) or the one summary line; rules_out/ is byte-for-byte unchanged and no staging
  directory is left beside it;
- exit 0: every written file parses as YAML, every rule's expr parses as PromQL and its labels
  and annotations are text;
- `rulegen validate` agrees with `generate` on the exit code (and on the problems);
- mutations that keep the meaning (flow/block style, aliases of equal blocks, merge keys
  split out of a mapping, CRLF line ends, a UTF-8 byte-order mark, comments, document markers)
  exit 0 and give the same rules as the unmutated inventory.

Bugs found are kept below as explicit `@example`s, each with what was expected.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rulegen.cli import main
from tests.conftest import example_slice

EXAMPLE_SERVICES = ["accounting", "ad", "cart", "checkout", "currency", "email",
                    "fraud-detection", "frontend", "load-generator", "payment",
                    "product-catalog", "quote", "recommendation", "shipping"]
GOOD_SLICE = ("cart", "checkout")  # the previous good output rules_out/ holds

# max_examples comes from the loaded profile (conftest.py); a deadline bounds every example.
# Shrinking reruns the CLI hundreds of times (minutes), so a failure is reported as found, with
# its mutations noted; RULEGEN_FUZZ_SHRINK=1 shrinks it.
FUZZ = settings(deadline=10_000,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
                + ([Phase.shrink] if os.environ.get("RULEGEN_FUZZ_SHRINK") else []),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example])


# --- running the CLI in-process -------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    code: int | str | None
    stdout: str
    stderr: str


def run_cli(*args: str) -> Run:
    """`rulegen ARGS` through rulegen.cli:main, in this process (click's isolation)."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        code: int | str | None
        try:
            main(list(args))
            code = "returned"  # main always exits
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
    return Run(code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


# --- a tree of YAML nodes, and an emitter with the YAML features we want ---------------------


@dataclass(eq=False)
class Map:
    items: list[tuple[Any, Any]]  # pairs, so a key can be written twice
    flow: bool = False


@dataclass(eq=False)
class Seq:
    items: list[Any]
    flow: bool = False


@dataclass(frozen=True)
class Raw:
    """Written as it is: a YAML token (a tag, a YAML 1.1 word, an unquoted oddity)."""

    text: str


@dataclass(eq=False)
class Alias:
    target: Map | Seq


MERGE = Raw("<<")


def to_node(x: Any) -> Any:
    if isinstance(x, dict):
        return Map([(k, to_node(v)) for k, v in x.items()])
    if isinstance(x, list):
        return Seq([to_node(v) for v in x])
    return x


def plain(node: Any) -> Any:
    """The data a node means (aliases and merges resolved the simple way), for equality."""
    if isinstance(node, Alias):
        return plain(node.target)
    if isinstance(node, Seq):
        return [plain(v) for v in node.items]
    if isinstance(node, Map):
        return {str(k): plain(v) for k, v in node.items}
    return node


class Emitter:
    def __init__(self, root: Any, choose: Callable[[int], int]) -> None:
        self.choose = choose  # choose(n) -> 0..n-1, drawn by hypothesis
        self.names: dict[int, str] = {}
        self.done: set[int] = set()
        for node in walk_nodes(root):
            if isinstance(node, Alias):
                self.names.setdefault(id(node.target), f"a{len(self.names)}")

    def text(self, root: Any) -> str:
        if isinstance(root, Map | Seq) and root.items and not root.flow:
            return "\n".join(self.block(root, 0)) + "\n"
        return self.flow(root) + "\n"

    def anchor(self, node: Any) -> str:
        name = self.names.get(id(node))
        if name is None or id(node) in self.done:
            return ""
        self.done.add(id(node))
        return f"&{name} "

    def alias(self, node: Alias) -> str:
        return f"*{self.names[id(node.target)]}"

    def flow(self, node: Any) -> str:
        if isinstance(node, Alias):
            return self.alias(node)
        if isinstance(node, Raw):
            return node.text
        if isinstance(node, Map):
            inner = ", ".join(f"{self.key(k, True)}: {self.flow(v)}" for k, v in node.items)
            return f"{self.anchor(node)}{{{inner}}}"
        if isinstance(node, Seq):
            return f"{self.anchor(node)}[{', '.join(self.flow(v) for v in node.items)}]"
        return self.scalar(node, True)

    def key(self, k: Any, in_flow: bool) -> str:
        if isinstance(k, Alias):
            return self.alias(k) + " "
        if isinstance(k, Map | Seq):
            return self.flow(k)
        return self.flow(k) if isinstance(k, Raw) else self.scalar(k, in_flow)

    def is_block(self, v: Any) -> bool:
        return isinstance(v, Map | Seq) and bool(v.items) and not v.flow

    def block(self, node: Map | Seq, indent: int) -> list[str]:
        pad = " " * indent
        lines: list[str] = []
        if isinstance(node, Map):
            for k, v in node.items:
                if isinstance(k, Map | Seq):  # a complex key: `? key` / `: value`
                    lines += [f"{pad}? {self.flow(k)}", f"{pad}: {self.flow(v)}"]
                    continue
                kt = self.key(k, False)
                if self.is_block(v):
                    a = self.anchor(v).strip()
                    lines.append(f"{pad}{kt}:{' ' + a if a else ''}")
                    # a sequence under a key may sit at the key's indent
                    same = isinstance(v, Seq) and self.choose(2) == 0
                    lines += self.block(v, indent if same else indent + 2)
                else:
                    lines.append(f"{pad}{kt}: {self.flow(v)}")
            return lines
        for v in node.items:
            if self.is_block(v):
                a = self.anchor(v).strip()
                sub = self.block(v, indent + 2)
                if a or self.choose(4) == 0:
                    lines.append(f"{pad}-{' ' + a if a else ''}")
                    lines += sub
                else:
                    lines.append(f"{pad}- {sub[0][indent + 2:]}")
                    lines += sub[1:]
            else:
                lines.append(f"{pad}- {self.flow(v)}")
        return lines

    def scalar(self, v: Any, in_flow: bool) -> str:
        if v is None:
            return ("null", "~", "Null")[self.choose(3)]
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            if math.isnan(v):
                return ".nan"
            if math.isinf(v):
                return ".inf" if v > 0 else "-.inf"
            return one_line(yaml.safe_dump(v))
        if not isinstance(v, str):
            raise TypeError(v)
        style = (None, "'", '"')[self.choose(3)]
        if (any(c in v for c in "\n\r\x85\u2028\u2029\ufeff") or not v.isprintable()
                or (in_flow and style is None and any(c in v for c in ",[]{}#:"))):
            style = '"'
        text = one_line(yaml.safe_dump(v, default_style=style, width=2**30,
                                       allow_unicode=bool(self.choose(3))))
        if "\n" in text:
            text = one_line(yaml.safe_dump(v, default_style='"', width=2**30))
        return text


def one_line(dumped: str) -> str:
    return dumped.removesuffix("\n").removesuffix("\n...").removesuffix("\n")


def walk_nodes(node: Any) -> Iterator[Any]:
    """Every node, keys included; aliases are not followed."""
    yield node
    if isinstance(node, Map):
        for k, v in node.items:
            yield from walk_nodes(k)
            yield from walk_nodes(v)
    elif isinstance(node, Seq):
        for v in node.items:
            yield from walk_nodes(v)


@dataclass(frozen=True)
class Slot:
    """A place in the tree: item `index` of `parent`, its key (Map only) or its value."""

    parent: Map | Seq
    index: int
    key: bool = False

    def get(self) -> Any:
        item = self.parent.items[self.index]
        if isinstance(self.parent, Seq):
            return item
        return item[0] if self.key else item[1]

    def set(self, value: Any) -> None:
        if isinstance(self.parent, Seq):
            self.parent.items[self.index] = value
        else:
            k, v = self.parent.items[self.index]
            self.parent.items[self.index] = (value, v) if self.key else (k, value)

    def name(self) -> Any:
        return self.parent.items[self.index][0] if isinstance(self.parent, Map) else self.index


def slots(root: Any, keys: bool = False) -> list[Slot]:
    out: list[Slot] = []
    for node in walk_nodes(root):
        if isinstance(node, Map):
            for i in range(len(node.items)):
                out.append(Slot(node, i))
                if keys:
                    out.append(Slot(node, i, key=True))
        elif isinstance(node, Seq):
            out += [Slot(node, i) for i in range(len(node.items))]
    return out


def containers(root: Any) -> list[Map | Seq]:
    return [n for n in walk_nodes(root) if isinstance(n, Map | Seq)]


# --- what goes in ----------------------------------------------------------------------------

NASTY = ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\r", "\r\n", "\x1b", "\x7f", "\x85",
         "\xa0", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff", "\U0001F600",
         "\U0001F469\u200d\U0001F4BB", "\u0301", "\u202e", "{{ $value }}", "{{", "}}", "{{{",
         "{{ .Labels }}", "{{ $labels.x }}", "x {{ y", '"', "'", "\\", "\\n", "\\u0000", "%",
         "#", " #", ": ", "- ", "&a", "*a", "!", "|", ">", "`", "$1", "${x}", "[", "]", ",",
         "{", "}", "?", "@", "~", " ", "x" * 300]
nasty_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=6))

YAML11 = ["on", "off", "On", "OFF", "yes", "no", "Yes", "NO", "y", "n", "Y", "N", "true",
          "False", "~", "null", "010", "0o10", "0x1F", "0b101", "08", "1_000", "+12", "12:30",
          "1:20:30", "190:20:30.15", "2024-01-01", "2001-12-14t21:59:43.10-05:00", ".nan",
          ".NaN", ".inf", "-.Inf", "1e3", "1.0e+3", "1.10", "0.", ".5", "+.5", "-0", "=",
          "<<"]
TAGGED = ["!!binary aGVsbG8=", "!!python/object:os.system {}", "!!python/name:os.system",
          "!!python/object/apply:os.system ['true']", "!!python/tuple [1, 2]", "!!str 010",
          "!!int '12'", "!!int x", "!!float '1.5'", "!!float x", "!!bool maybe", "!!null x",
          "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1, a: 2]", "!!timestamp 2001-12-14",
          "!!timestamp x", "!!map [1]", "!!seq {a: 1}", "!!merge x", "!foo bar",
          "!<tag:example.com,2000:x> y", "!!str", "! 12", '"\\ud800"', '"\\x00"',
          "'it''s'", "*undefined", "&lonely x", "|\n  block", ">-\n  folded", "? x", "- x",
          "[unclosed", "{a: 1", "x: y: z"]
OUT_OF_RANGE: list[Any] = [
    0, -1, -0.0, 2**63, 2**64 + 1, -(2**63) - 1, 10**30, 1e308, -1e308, 5e-324, 1.0000001,
    "0s", "0m", "-5m", "1000000d", "31d", "30d1s", "99999999999999999999s", "1h-30m", "1.5h",
    "0", "-1Mi", "1Pi", "2Pi", "1025Ti", "1e400", "99999999999999999999Mi", "512m", "1.5",
    "0/h", "-1MiB/h", "1e308MiB/h", "9999999999999999999999/h", "1MiB/ms", "10/h", "10Mi",
    "1.5e3MiB/h", " 10MiB / h ", "\u0661\u0660MiB/h", "\uff11\uff10m", "nan", "inf",
]
NUMERIC_KEYS = {"threshold", "size", "window", "for", "gc_period", "scrape_interval",
                "horizon", "version"}

small_scalar = st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(),
                         st.none(), nasty_text)
odd_value = st.one_of(
    st.integers(),
    st.integers(-(2**80), 2**80),
    st.floats(),
    st.booleans(),
    st.none(),
    nasty_text,
    st.lists(small_scalar, max_size=3).map(lambda xs: Seq(list(xs), flow=True)),
    st.dictionaries(st.text(max_size=5), small_scalar, max_size=3).map(
        lambda d: Map(list(d.items()), flow=True)),
    st.sampled_from(YAML11).map(Raw),
    st.sampled_from(TAGGED).map(Raw),
    st.sampled_from(OUT_OF_RANGE),
)

# --- valid inventories -----------------------------------------------------------------------

RUNTIMES = ["go", "nodejs", "python", "jvm", "dotnet", "process"]
RESERVED = {"alertname", "service", "owner", "severity", "signal"}
free_text = st.text(min_size=1, max_size=10)
label_name = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda s: s not in RESERVED and not s.startswith("__"))  # __*: Prometheus's own


@st.composite
def valid_service(draw: st.DrawFn, name: str) -> dict[str, Any]:
    runtime = draw(st.sampled_from(RUNTIMES))
    svc: dict[str, Any] = {"name": name, "runtime": runtime}
    if draw(st.booleans()):
        svc["owner"] = draw(free_text)
    if draw(st.booleans()):
        svc["description"] = draw(free_text)
    if draw(st.booleans()):
        svc["labels"] = draw(st.dictionaries(label_name, free_text, max_size=2))
    if draw(st.booleans()):
        svc["links"] = draw(st.dictionaries(st.sampled_from(["runbook", "dashboard", "traces"]),
                                            free_text, max_size=2))
    if draw(st.booleans()):
        svc["selector"] = draw(st.dictionaries(label_name, st.one_of(
            free_text, st.builds(lambda r: {"regex": r}, st.sampled_from(["a.*", "x|y", ""])),
            st.builds(lambda t: {"not": t}, free_text)), min_size=1, max_size=2))
    if draw(st.booleans()):
        svc["scrape_interval"] = draw(st.sampled_from(["30s", "1m", 60]))
        svc["gc_period"] = draw(st.sampled_from(["2m", "5m", "1h"]))
    limits = [{"source": "none"}, {"source": "static", "size": "512Mi"},
              {"source": "static", "size": 1073741824},
              {"source": "metric", "metric": "kube-state-metrics"},
              {"source": "metric", "metric": "cadvisor",
               "join": {"k8s_namespace_name": "namespace", "k8s_pod_name": "pod"}}]
    if runtime == "jvm":
        limits.append({"source": "runtime"})
    if draw(st.booleans()):
        svc["memory_limit"] = draw(st.sampled_from(limits))
    alerts: dict[str, Any] = {}
    if draw(st.booleans()):
        alerts["memory-growth"] = draw(st.sampled_from(
            [{"threshold": "5MiB/h"}, {"threshold": "1Mi/min", "window": "3h", "for": "30m"},
             {"disabled": True}]))
    if draw(st.booleans()):
        alerts["telemetry-missing"] = {"severity": draw(st.sampled_from(["info", "page-me"]))}
    if alerts:
        svc["alerts"] = alerts
    return svc


@st.composite
def valid_inventory(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,3})?", fullmatch=True),
                          min_size=1, max_size=2, unique_by=str.casefold))
    inv: dict[str, Any] = {}
    if draw(st.booleans()):
        inv["version"] = 1
    defaults: dict[str, Any] = {"owner": draw(free_text)}
    if draw(st.booleans()):
        defaults["labels"] = draw(st.dictionaries(label_name, free_text, max_size=2))
    if draw(st.booleans()):
        defaults["alerts"] = {"limit-ratio": {"threshold": draw(st.sampled_from([0.5, 0.9, 1]))}}
    inv["defaults"] = defaults
    if draw(st.booleans()):
        inv["output"] = {"targets": draw(st.lists(st.sampled_from(
            ["prometheus", "operator", "mimir"]), min_size=1, max_size=3, unique=True))}
    inv["services"] = [draw(valid_service(n)) for n in names]
    return inv


@st.composite
def base_inventory(draw: st.DrawFn) -> tuple[str, Any]:
    """(how it was made, plain data) of a valid inventory."""
    if draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(EXAMPLE_SERVICES), min_size=1, max_size=2,
                              unique=True))
        return f"example slice {names}", yaml.safe_load(example_slice(*names))
    return "generated", draw(valid_inventory())


# --- mutations ---------------------------------------------------------------------------------


def choose_slot(draw: st.DrawFn, root: Any, *, keys: bool = False,
                pred: Callable[[Slot], bool] | None = None) -> Slot | None:
    found = [s for s in slots(root, keys) if pred is None or pred(s)]
    return draw(st.sampled_from(found)) if found else None


def m_retype(draw: st.DrawFn, root: Any) -> str:
    s = choose_slot(draw, root, keys=True)
    if s is None:
        return "retype: nothing"
    value = draw(odd_value)
    s.set(value)
    return f"retype {s.name()!r} -> {value!r}"


def m_taint(draw: st.DrawFn, root: Any) -> str:
    every = draw(st.booleans())
    done = 0
    for s in slots(root, keys=True):
        v = s.get()
        if isinstance(v, str) and (every or draw(st.integers(0, 3)) == 0):
            frag = draw(nasty_text)
            at = draw(st.integers(0, len(v)))
            s.set(v[:at] + frag + v[at:])
            done += 1
    return f"taint {'every' if every else 'some'} string ({done})"


def m_delete(draw: st.DrawFn, root: Any) -> str:
    s = choose_slot(draw, root)
    if s is None:
        return "delete: nothing"
    name = s.name()
    del s.parent.items[s.index]
    return f"delete {name!r}"


def m_duplicate(draw: st.DrawFn, root: Any) -> str:
    s = choose_slot(draw, root)
    if s is None:
        return "duplicate: nothing"
    item = copy.deepcopy(s.parent.items[s.index])
    if isinstance(s.parent, Map) and draw(st.booleans()):
        item = (item[0], draw(odd_value))
    s.parent.items.insert(draw(st.integers(0, len(s.parent.items))), item)
    return f"duplicate {s.name()!r}"


def m_alias(draw: st.DrawFn, root: Any) -> str:
    cs = [c for c in containers(root) if c is not root]
    s = choose_slot(draw, root)
    if not cs or s is None:
        return "alias: nothing"
    target = draw(st.sampled_from(cs))
    s.set(Alias(target))
    return f"alias {s.name()!r} -> a {type(target).__name__}"


def m_merge(draw: st.DrawFn, root: Any) -> str:
    maps = [c for c in containers(root) if isinstance(c, Map)]
    if not maps:
        return "merge: nothing"
    into = draw(st.sampled_from(maps))
    others = [c for c in containers(root) if c is not root]
    kind = draw(st.sampled_from(["alias", "list", "inline", "odd"]))
    value: Any
    if kind == "alias" and others:
        value = Alias(draw(st.sampled_from(others)))
    elif kind == "list" and others:
        value = Seq([Alias(draw(st.sampled_from(others))) for _ in range(draw(st.integers(1, 3)))],
                    flow=True)
    elif kind == "inline":
        value = Map([(draw(st.text(max_size=5)), draw(small_scalar))], flow=draw(st.booleans()))
    else:
        value = draw(odd_value)
    into.items.insert(draw(st.integers(0, len(into.items))), (MERGE, value))
    return f"merge key ({kind})"


def m_yaml11(draw: st.DrawFn, root: Any) -> str:
    s = choose_slot(draw, root, keys=draw(st.booleans()))
    if s is None:
        return "yaml11: nothing"
    word = draw(st.sampled_from(YAML11))
    s.set(Raw(word))
    return f"yaml 1.1 word {word!r} at {s.name()!r}"


def m_tag(draw: st.DrawFn, root: Any) -> str:
    s = choose_slot(draw, root)
    if s is None:
        return "tag: nothing"
    token = draw(st.sampled_from(TAGGED))
    s.set(Raw(token))
    return f"tag {token!r} at {s.name()!r}"


def m_out_of_range(draw: st.DrawFn, root: Any) -> str:
    s = choose_slot(draw, root, pred=lambda s: s.name() in NUMERIC_KEYS) or choose_slot(
        draw, root)
    if s is None:
        return "out of range: nothing"
    value = draw(st.sampled_from(OUT_OF_RANGE))
    s.set(value)
    return f"out of range {s.name()!r} = {value!r}"


def m_case_twin(draw: st.DrawFn, root: Any) -> str:
    """A second service whose name differs only in case, or is the same."""
    services = next((v for k, v in root.items if k == "services"), None) if isinstance(
        root, Map) else None
    if not isinstance(services, Seq) or not services.items:
        return "case twin: nothing"
    twin = copy.deepcopy(draw(st.sampled_from(services.items)))
    if isinstance(twin, Map):
        twin.items = [(k, v.upper() if k == "name" and isinstance(v, str) and draw(
            st.booleans()) else v) for k, v in twin.items]
    services.items.append(twin)
    return "case twin"


BREAKING: list[Callable[[st.DrawFn, Any], str]] = [
    m_retype, m_taint, m_delete, m_duplicate, m_alias, m_merge, m_yaml11, m_tag,
    m_out_of_range, m_case_twin]


# Mutations that keep the meaning: the inventory stays valid and gives the same rules.


def k_restyle(draw: st.DrawFn, root: Any) -> str:
    cs = containers(root)
    for c in cs:
        if draw(st.integers(0, 2)) == 0:
            c.flow = not c.flow
    return "restyle"


def k_alias_equal(draw: st.DrawFn, root: Any) -> str:
    """Replace a block by an alias of an equal block written before it."""
    seen: dict[str, Map | Seq] = {}
    pairs: list[tuple[Map | Seq, Slot]] = []
    for s in slots(root):
        v = s.get()
        if isinstance(v, Map | Seq) and v.items:
            key = repr(plain(v))
            if key in seen:
                pairs.append((seen[key], s))
            else:
                seen[key] = v
    if not pairs:
        return "alias equal: nothing"
    target, s = draw(st.sampled_from(pairs))
    s.set(Alias(target))
    return f"alias of an equal block at {s.name()!r}"


def k_merge_split(draw: st.DrawFn, root: Any) -> str:
    """Move some keys of a mapping into a merge key (`<<: {...}` or `<<: [{...}, {...}]`),
    possibly with a decoy value for a key the mapping keeps (the written key wins)."""
    maps = [c for c in containers(root) if isinstance(c, Map) and c is not root
            and len(c.items) >= 2 and all(isinstance(k, str) for k, _ in c.items)]
    if not maps:
        return "merge split: nothing"
    m = draw(st.sampled_from(maps))
    moved_idx = draw(st.sets(st.integers(0, len(m.items) - 1), min_size=1,
                             max_size=len(m.items) - 1))
    moved = [m.items[i] for i in sorted(moved_idx)]
    kept = [it for i, it in enumerate(m.items) if i not in moved_idx]
    if draw(st.booleans()):  # a decoy for a kept key: the mapping's own key must win
        moved.append((kept[0][0], Raw("!!str decoy-that-must-lose")))
    if len(moved) > 1 and draw(st.booleans()):
        cut = draw(st.integers(1, len(moved) - 1))
        value: Any = Seq([Map(moved[:cut]), Map(moved[cut:])], flow=True)
    else:
        value = Map(moved, flow=draw(st.booleans()))
    m.items = kept
    m.items.insert(draw(st.integers(0, len(m.items))), (MERGE, value))
    return "merge split"


KEEPING: list[Callable[[st.DrawFn, Any], str]] = [k_restyle, k_alias_equal, k_merge_split]


def t_insert(draw: st.DrawFn, text: str) -> str:
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(nasty_text) + text[at:]


def t_line(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["delete", "duplicate", "indent", "dedent", "tab", "truncate"]))
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "indent":
        lines[i] = " " + lines[i]
    elif op == "dedent":
        lines[i] = lines[i][1:]
    elif op == "tab":
        lines[i] = "\t" + lines[i]
    else:
        return text[:draw(st.integers(0, len(text)))]
    return "\n".join(lines)


def t_documents(draw: st.DrawFn, text: str) -> str:
    return draw(st.sampled_from([
        "---\n" + text + "---\nservices: []\n",
        text + "---\n" + text,
        "%YAML 1.2\n---\n" + text,
        "%FOO bar\n---\n" + text,
        "%TAG ! tag:example.com,2000:\n---\n" + text,
        "--- !!map\n" + text,
        "--- !!seq\n" + text,
        "--- |\n" + text,
    ]))


def t_hostile(draw: st.DrawFn, text: str) -> str:
    """Deep nesting (flow and block) or an alias bomb ("billion laughs") before the text."""
    op = draw(st.sampled_from(["flow", "block", "bomb"]))
    n = draw(st.sampled_from([50, 600, 3000]))
    if op == "flow":
        return "deep: " + "[" * n + "]" * n + "\n" + text
    if op == "block":
        return "deep:\n" + "".join(" " * i + "k:\n" for i in range(1, n // 3)) + text
    bomb = ['b0: &b0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    bomb += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(bomb) + "\n" + text


TEXT_BREAKING = [t_insert, t_line, t_documents, t_hostile]


def t_keep(draw: st.DrawFn, text: str) -> str:
    op = draw(st.sampled_from(["crlf", "comments", "markers", "directive", "trailing"]))
    if op == "crlf":
        return text.replace("\n", "\r\n")
    if op == "comments":
        return "".join(f"{ln}  # {draw(st.sampled_from(['x', '{{ $value }}', 'ü', '']))}\n"
                       if ln.strip() and not ln.rstrip().endswith(("|", "|-")) else ln + "\n"
                       for ln in text.split("\n")[:-1])
    if op == "markers":
        return "---\n" + text + "...\n"
    if op == "directive":
        return "%YAML 1.1\n---\n" + text
    return text + "\n\n# the end\n"


def b_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    op = draw(st.sampled_from(["utf16", "utf16-bom", "utf32-bom", "invalid", "latin1",
                               "surrogate", "nul"]))
    if op == "utf16":
        return data.decode("utf-8").encode("utf-16-le")
    if op == "utf16-bom":
        return data.decode("utf-8").encode("utf-16")
    if op == "utf32-bom":
        return b"\xff\xfe\x00\x00" + data
    if op == "latin1":
        return data.decode("utf-8").encode("latin-1", "replace") + "é".encode("latin-1")
    at = draw(st.integers(0, len(data)))
    bad = {"invalid": draw(st.sampled_from([b"\xff", b"\xc3", b"\xc0\x80", b"\xe2\x82"])),
           "surrogate": b"\xed\xa0\x80", "nul": b"\x00"}[op]
    return data[:at] + bad + data[at:]


@dataclass
class Case:
    data: bytes  # the inventory file
    base: bytes | None = None  # the unmutated inventory, when every mutation kept the meaning
    what: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Case(data={self.data!r}, base={self.base!r}, what={self.what!r})"


@st.composite
def mutated_inventory(draw: st.DrawFn) -> Case:
    made, data = draw(base_inventory())
    what = [made]
    root = to_node(data)
    for c in containers(root):  # block or flow, as drawn
        c.flow = draw(st.integers(0, 5)) == 0 and c is not root

    def choose(n: int) -> int:
        return draw(st.integers(0, n - 1))

    base_text = Emitter(root, choose).text(root)
    keeping = draw(st.integers(0, 3)) == 0
    ops = (draw(st.lists(st.sampled_from(KEEPING), max_size=3)) if keeping else
           draw(st.lists(st.sampled_from(BREAKING), min_size=1, max_size=4)))
    for op in ops:
        what.append(op(draw, root))
    text = Emitter(root, choose).text(root)
    if keeping:
        if draw(st.booleans()):
            text = t_keep(draw, text)
            what.append("text keeps meaning")
        raw = text.encode("utf-8")
        if draw(st.integers(0, 4)) == 0:
            raw = b"\xef\xbb\xbf" + raw
            what.append("utf-8 bom")
        return Case(raw, base_text.encode("utf-8"), what)
    for op in draw(st.lists(st.sampled_from(TEXT_BREAKING), max_size=2)):
        text = op(draw, text)
        what.append(op.__name__)
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 5)) == 0:
        raw = b_bytes(draw, raw)
        what.append("byte edit")
    return Case(raw, None, what)


# --- the properties ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A previous good output (rules, tests, operator and mimir files of two services)."""
    d = tmp_path_factory.mktemp("good")
    (d / "inventory.yaml").write_text(example_slice(*GOOD_SLICE))
    r = run_cli("generate", str(d / "inventory.yaml"), "--out", str(d / "rules_out"))
    assert r.code == 0, r
    assert {p.name for p in (d / "rules_out").iterdir()} == {"rules", "tests", "operator",
                                                              "mimir"}
    return d / "rules_out"


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every directory (None) and file (its bytes) under root."""
    out: dict[str, bytes | None] = {}
    for dirpath, _, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        out[rel.as_posix()] = None
        for name in filenames:
            out[(rel / name).as_posix()] = (Path(dirpath) / name).read_bytes()
    return out


def check_problems(stderr: str, inv: str, text: str | None) -> list[str]:
    """Every stderr line is a problem at a place inside the file, or the one summary line.
    Returns the problem lines."""
    assert "Traceback" not in stderr
    lines = stderr.split("\n")
    assert lines[-1] == "", "stderr does not end with a newline"
    problems: list[str] = []
    summaries: list[str] = []
    for line in lines[:-1]:
        if line.startswith(f"rulegen: {inv}: invalid inventory ("):
            summaries.append(line)
            continue
        assert line.startswith(f"{inv}:"), f"not a file:line:col problem line: {line!r}"
        m = re.fullmatch(re.escape(inv) + r":(\d+):(\d+): (.*)", line, re.S)
        assert m, f"not a file:line:col problem line: {line!r}"
        ln, col = int(m[1]), int(m[2])
        assert ln >= 1 and col >= 1, line
        if text is not None and (ln, col) != (len(text.split("\n")) + 1, 1):  # (or its end)
            file_lines = text.split("\n")  # the place exists in the file as an editor shows it
            assert ln <= len(file_lines), f"line {ln} of a {len(file_lines)}-line file: {line!r}"
            assert col <= len(file_lines[ln - 1]) + 1, (
                f"column {col} of line {ln} ({len(file_lines[ln - 1])} characters): {line!r}")
        problems.append(line)
    assert problems, f"exit 2 without a file:line:col problem: {stderr!r}"
    assert len(set(problems)) == len(problems), f"a problem reported twice: {problems}"
    assert len(summaries) <= 1, summaries
    if summaries:
        m = re.search(r"invalid inventory \((\d+) problems?\)", summaries[0])
        assert m, summaries[0]
        warning = re.compile(re.escape(inv) + r":\d+:\d+: (warning|info): ")
        errors = [p for p in problems if not warning.match(p)]
        n = int(m[1])
        assert n == len(errors), (summaries[0], problems)
    return problems


def check_output(out: Path) -> None:
    """Every file parses as YAML; every rule's expr parses as PromQL; labels and annotations
    are text."""
    for path in sorted(out.rglob("*")):
        if path.is_dir():
            continue
        assert path.suffix in (".yml", ".yaml"), path
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(doc, dict), path
        if path.relative_to(out).parts[0] != "rules":
            continue
        for group in doc["groups"]:
            assert isinstance(group["name"], str), path
            for rule in group["rules"] or []:  # `rules:` empty when no family has a signal
                promql_parser.parse(rule["expr"])
                for k, v in {**rule.get("labels", {}), **rule.get("annotations", {})}.items():
                    assert isinstance(k, str) and isinstance(v, str), (path, rule["alert"], k, v)


def decoded(data: bytes) -> str | None:
    """The text an editor shows (after a UTF-8 byte-order mark), or None if not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None


def rules_of(out: Path) -> dict[str, Any]:
    return {p.relative_to(out).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in sorted(out.rglob("*.y*ml")) if p.relative_to(out).parts[0] != "tests"}


def log(text: str) -> None:
    """A note in hypothesis's report of a failing example (plain tests have none)."""
    with contextlib.suppress(InvalidArgument):
        note(text)


def run_case(case: Case, good: Path) -> None:
    log(f"mutations: {case.what}")
    with tempfile.TemporaryDirectory(prefix="rulegen-fuzz-") as d:
        inv = Path(d) / "in" / "inventory.yaml"
        inv.parent.mkdir()
        inv.write_bytes(case.data)
        out = Path(d) / "work" / "rules_out"
        shutil.copytree(good, out)
        before = snapshot(out)
        gen = run_cli("generate", str(inv), "--out", str(out))
        log(f"generate: {gen}")
        val = run_cli("validate", str(inv))
        log(f"validate: {val}")
        for r in (gen, val):
            assert r.code in (0, 2), r
            assert "Traceback" not in r.stdout + r.stderr, r
        assert val.code == gen.code, (gen, val)
        assert sorted(p.name for p in out.parent.iterdir()) == ["rules_out"], (
            "staging directories left beside rules_out/", sorted(out.parent.iterdir()))
        text = decoded(case.data)
        if gen.code == 2:
            assert snapshot(out) == before, "rules_out/ changed on exit 2"
            assert gen.stdout == "", gen
            g = check_problems(gen.stderr, str(inv), text)
            v = check_problems(val.stderr, str(inv), text)
            assert g == v, "generate and validate report different problems"
        else:
            check_output(out)
        if case.base is not None:
            assert gen.code == 0, f"a mutation that keeps the meaning broke it: {gen.stderr}"
            inv.write_bytes(case.base)
            base_out = Path(d) / "base" / "rules_out"
            r = run_cli("generate", str(inv), "--out", str(base_out))
            assert r.code == 0, r
            assert rules_of(out) == rules_of(base_out), "same meaning, different rules"


@FUZZ
@given(case=mutated_inventory())
def test_generate_and_validate_survive_mutated_inventories(good_output: Path,
                                                           case: Case) -> None:
    run_case(case, good_output)


# --- the harness is not vacuous ------------------------------------------------------------------


def test_harness_sees_a_bad_and_a_good_inventory(good_output: Path) -> None:
    bad = example_slice("checkout").replace("threshold: 2MiB/h", "treshold: 2MiB/h")
    good = example_slice("checkout")
    with tempfile.TemporaryDirectory() as d:
        inv = Path(d) / "inventory.yaml"
        inv.write_text(bad)
        out = Path(d) / "w" / "rules_out"
        shutil.copytree(good_output, out)
        before = snapshot(out)
        r = run_cli("generate", str(inv), "--out", str(out))
        assert r.code == 2, r
        [p] = check_problems(r.stderr, str(inv), bad)
        assert "unknown key 'treshold'" in p
        assert snapshot(out) == before
        inv.write_text(good)
        assert run_cli("generate", str(inv), "--out", str(out)).code == 0
        assert snapshot(out) != before
        check_output(out)
    with pytest.raises(AssertionError, match="not a file:line:col"):
        check_problems("inventory.yaml: 3: oops\n", "inventory.yaml", "a\nb\nc\n")
    with pytest.raises(AssertionError, match="line 9 of a 3-line file"):
        check_problems("x.yaml:9:1: oops\n", "x.yaml", "a\nb\n")


# --- what the fuzzing found: plain tests that fail until the bug is fixed -------------------------

FOUND = [
    # A selector matcher the test generator cannot satisfy passes `validate` (exit 0) but
    # `generate` exits 2 with "rulegen: cannot make up a value for label x that matches
    # x=~'a?'" (no file:line:col, no service). `a?` matches "a"; "" matches series without
    # the label. Expected: validate and generate agree, and a refusal points at the matcher.
    pytest.param(b"services:\n  - {name: a, runtime: go, owner: o, selector: {x: {regex: 'a?'}}}\n",
                 id="selector-regex-a?"),
    pytest.param(b"services:\n  - {name: a, runtime: go, owner: o, selector: {x: {regex: ''}}}\n",
                 id="selector-regex-empty"),
    pytest.param(b"services:\n  - {name: a, runtime: go, owner: o,\n"
                 b"      selector: {x: {not_regex: '.+'}}}\n", id="selector-not-regex-anything"),
    # An explicit core tag whose text is not of that type: exit 70 with a traceback
    # (ValueError/KeyError from PyYAML's constructor escapes yamlpos). Expected: exit 2,
    # "inventory.yaml:1:11: ..." at the tagged value.
    pytest.param(b"services: !!int x\n", id="tag-int-x"),
    pytest.param(b"defaults: {owner: !!float x}\nservices: []\n", id="tag-float-x"),
    pytest.param(b"defaults: {owner: !!bool maybe}\nservices: []\n", id="tag-bool-maybe"),
    pytest.param(b"defaults: {owner: !!timestamp 2001-13-45}\nservices: []\n",
                 id="tag-timestamp-bad"),
    # A merge key whose value is a scalar (or a list holding one) crashed a work-in-progress
    # yamlpos.py (exit 70, StopIteration in mapping); kept as a regression test. Expected:
    # exit 2 at the merged value (a merge takes a mapping or a list of mappings).
    pytest.param(b"defaults:\n  <<: 1\nservices: []\n", id="merge-scalar"),
    pytest.param(b"services:\n  - <<: [1]\n    name: a\n", id="merge-list-of-scalar"),
]


@pytest.mark.parametrize("data", FOUND)
def test_found_by_fuzzing(good_output: Path, data: bytes) -> None:
    run_case(Case(data, None, ["found by fuzzing"]), good_output)


@pytest.mark.parametrize("where", ["quoted", "comment"])
@pytest.mark.parametrize("char", ["\x85", "\u2028", "\u2029"], ids=["NEL", "LS", "PS"])
def test_positions_count_lines_as_editors_do(good_output: Path, char: str, where: str) -> None:
    """A raw U+0085, U+2028 or U+2029 (allowed in a quoted YAML string or a comment) is not a
    line break in editors, YAML 1.2 or rulegen's own reader-error positions; libyaml counts it
    as one (YAML 1.1), so every later problem is reported a line too low (and in a comment it
    ends the comment: a syntax error). Expected: the unknown key at 6:5."""
    text = (f"# note {char} here\n" if where == "comment" else "") + (
        f'defaults:\n  owner: "a{char}b"\nservices:\n  - name: x\n    runtime: go\n'
        "    treshold: 1\n")
    line = 7 if where == "comment" else 6
    with tempfile.TemporaryDirectory() as d:
        inv = Path(d) / "inventory.yaml"
        inv.write_bytes(text.encode("utf-8"))
        r = run_cli("validate", str(inv))
    assert r.code == 2, r
    assert r.stderr.startswith(f"{inv}:{line}:5: unknown key 'treshold'"), r.stderr
