"""Load YAML keeping where every key and value came from, and refuse duplicate keys.

Plain YAML loaders keep the last of two equal keys without a word; a hand-edited inventory
needs to be told. Positions are 1-based (line, column), keyed by the path into the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from rulegen.errors import Problem

try:  # libyaml makes a 10,000-service inventory load in a fraction of the pure-Python time.
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - wheels ship libyaml
    _Loader = yaml.SafeLoader

Path = tuple[str | int, ...]
_STR = "tag:yaml.org,2002:str"


@dataclass
class Located:
    """Data plus where each path was written."""

    data: Any
    path: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of `loc`, or of its nearest written ancestor."""
        if key and loc in self.keys:
            return self.keys[loc]
        for n in range(len(loc), -1, -1):
            pos = self.values.get(loc[:n])
            if pos:
                return pos
        return (1, 1)

    def problem(self, loc: Path, message: str, *, key: bool = False,
                check: str = "inventory") -> Problem:
        line, col = self.where(loc, key=key)
        return Problem(self.path, line, col, message, check)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, located: Located, problems: list[Problem]) -> None:
        self.loc = located
        self.problems = problems
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.loc.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first: dict[Any, yaml.Node] = {}
            self.constructor.flatten_mapping(node)
            for key_node, value_node in node.value:
                key = self.build_scalar_key(key_node)
                if key in first:
                    line = first[key].start_mark.line + 1
                    self.problems.append(Problem(
                        self.loc.path, *_mark(key_node),
                        f"duplicate key {key!r} (first given on line {line}); "
                        "YAML would silently keep only the last one"))
                    continue
                first[key] = key_node
                self.loc.keys[(*path, key)] = _mark(key_node)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == _STR:  # most scalars: skip the generic constructor's bookkeeping
            return node.value
        return self.constructor.construct_object(node, deep=True)

    def build_scalar_key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.problems.append(
                Problem(self.loc.path, *_mark(node), "a key must be a plain value"))
            return f"<complex key at line {node.start_mark.line + 1}>"
        key = node.value if node.tag == _STR else self.constructor.construct_object(node)
        return key if isinstance(key, str | int | float | bool) or key is None else str(key)


def load(text: str, path: str) -> tuple[Located, list[Problem]]:
    """Parse `text`; return the located data and every problem found (syntax or duplicates)."""
    located = Located(data=None, path=path)
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return located, [Problem(path, line, col, f"YAML syntax error: {what}", "yaml")]
    except yaml.YAMLError as exc:  # e.g. a reader error on bad bytes
        return located, [Problem(path, 1, 1, f"YAML error: {exc}", "yaml")]
    if node is None:
        located.data = None
        return located, problems
    try:
        located.data = _Builder(located, problems).build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(path, line, col, f"YAML error: {exc.problem}", "yaml"))
    return located, problems
