"""Load YAML keeping where every key and value came from, and refuse duplicate keys.

Plain YAML loaders keep the last of two equal keys without a word; a hand-edited inventory
needs to be told. Positions are 1-based (line, column), keyed by the path into the data.
"""

from __future__ import annotations

import re
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
    # Values YAML 1.1 read as a bool or number from text that may have meant something else
    # (`no`, `on`, `1.10`): the text as written, for a "quote it" hint.
    written: dict[Path, str] = field(default_factory=dict)

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


# Aliases may add at most this many values beyond those written in the file: enough for any
# shared block of settings, and a "billion laughs" bomb is refused in milliseconds.
MAX_ALIAS_VALUES = 100_000
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NULL = "tag:yaml.org,2002:null"
# The tags plain YAML resolves to, by kind of node; any other (!!python/object, !!binary, !!set,
# !Ref), or one on the wrong kind of node (`!!str [a]`), is refused.
_KIND_TAGS = {yaml.ScalarNode: {_STR, _INT, _BOOL, _FLOAT, _TIMESTAMP, _NULL},
              yaml.SequenceNode: {"tag:yaml.org,2002:seq"},
              yaml.MappingNode: {"tag:yaml.org,2002:map"}}
_KIND_NAMES = {yaml.ScalarNode: "text", yaml.SequenceNode: "a list", yaml.MappingNode: "a mapping"}
# libyaml reads YAML 1.1, where U+0085, U+2028 and U+2029 end a line, even inside a comment or a
# quoted string; editors and YAML 1.2 do not break lines there. They are handed to libyaml as
# stand-ins it takes for ordinary characters (so lines and columns are the editor's), and put
# back in every scalar.
_BREAKS_11 = "\x85\u2028\u2029"
_STAND_INS = "\U000f0085\U000f2028\U000f2029"
_TO_STAND_IN = str.maketrans(_BREAKS_11, _STAND_INS)
_FROM_STAND_IN = str.maketrans(_STAND_INS, _BREAKS_11)
_DECIMAL = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_PLAIN_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9]*)?\.[0-9]*[1-9]|[-+]?(0|[1-9][0-9]*)\.0?"
                          r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _Refused(Exception):
    """YAML that rulegen does not read any further: the problem, at `node`."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        self.node = node
        self.message = message


def _tag(node: yaml.Node) -> str:
    return node.tag.replace("tag:yaml.org,2002:", "!!")


def _refuse_tag(node: yaml.Node) -> None:
    if node.tag not in _KIND_TAGS[type(node)]:
        if any(node.tag in tags for tags in _KIND_TAGS.values()):
            raise _Refused(node, f"the YAML tag {_tag(node)} does not fit "
                           f"{_KIND_NAMES[type(node)]}; remove the tag")
        raise _Refused(node, f"the YAML tag {_tag(node)} is not supported: an inventory holds "
                       "plain text, numbers, true/false, lists and mappings")


class _Builder:
    """Builds plain data from the composed nodes: positions kept, duplicate keys refused,
    merge keys applied as YAML defines them (a key written in the mapping wins over a merged
    one), aliases expanded within a budget, and YAML 1.1 readings that change what a value
    means (`010` is 8, `12:30` is 750, `2024-01-01` a date) kept as the text that was written,
    remembered in `Located.written` so messages can suggest quoting."""

    def __init__(self, located: Located, problems: list[Problem],
                 restore: dict[int, int] | None = None) -> None:
        self.restore = restore  # stand-ins to put back in scalars (_STAND_INS)
        self.loc = located
        self.problems = problems
        self.constructor = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()  # the blocks being built: an alias to one is a cycle
        self.built: set[int] = set()  # blocks built once: building one again is an alias use
        self.sizes: dict[int, int] = {}
        self.aliased = 0  # values added by alias uses so far

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.loc.values[path] = _mark(node)
        if node.tag == _STR and isinstance(node, yaml.ScalarNode):  # most: skip the constructor
            return node.value if self.restore is None else node.value.translate(self.restore)
        _refuse_tag(node)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            if id(node) in self.active:
                raise _Refused(node, "an alias refers to a block that contains it; the value "
                               "would be infinite")
            if id(node) in self.built:  # counted before it is expanded: bombs stop at once
                self.aliased += self.size(node)
                if self.aliased > MAX_ALIAS_VALUES:
                    raise _TooLarge(node)
            self.built.add(id(node))
            self.active.add(id(node))
            try:
                return self.mapping(node, path) if isinstance(node, yaml.MappingNode) else [
                    self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.active.discard(id(node))
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def size(self, node: yaml.Node) -> int:
        """How many values building `node` makes, aliases expanded (memoized: a bomb's size
        is known in as many steps as it has distinct blocks)."""
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        self.sizes[id(node)] = 0  # a cycle counts as nothing here; build() reports it
        children = node.value if isinstance(node, yaml.SequenceNode) else [
            n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
        total = 1 + sum(self.size(c) for c in children)
        self.sizes[id(node)] = min(total, MAX_ALIAS_VALUES + 1)
        return self.sizes[id(node)]

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        written = {id(k) for k, _ in node.value if k.tag != _MERGE}
        first: dict[Any, yaml.Node] = {}
        merges = [(k, v) for k, v in node.value if k.tag == _MERGE]
        try:
            self.constructor.flatten_mapping(node)
        except yaml.constructor.ConstructorError:
            merge_key, merged = next((k, v) for k, v in merges if not isinstance(
                v, yaml.MappingNode) and not (isinstance(v, yaml.SequenceNode) and all(
                    isinstance(n, yaml.MappingNode) for n in v.value)))
            bad = next((n for n in merged.value if not isinstance(n, yaml.MappingNode)), merged) \
                if isinstance(merged, yaml.SequenceNode) else merged
            what = "a list" if isinstance(bad, yaml.SequenceNode) else "text"
            raise _Refused(merge_key, "a merge key (<<) takes a mapping or a list of mappings, "
                           f"such as <<: *base or <<: [*a, *b]; this one merges {what}"
                           + (" in a list" if bad is not merged else "")) from None
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                kind = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                self.problems.append(Problem(self.loc.path, *_mark(key_node), "a key must be "
                                             f"text, not {kind} (a YAML complex key)"))
                continue
            key = self.build_scalar_key(key_node)
            merged = id(key_node) not in written
            if key in first and not merged and id(first[key]) in written:
                line = first[key].start_mark.line + 1
                self.problems.append(Problem(
                    self.loc.path, *_mark(key_node),
                    f"duplicate key {key!r} (first given on line {line}); "
                    "YAML would silently keep only the last one"))
                continue
            first[key] = key_node  # a later merged or a written key overrides a merged one
            self.loc.keys[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key))
        return out

    def scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        # `!!int x`; `!!timestamp x` (PyYAML's timestamp constructor fails on a text that is
        # not one with AttributeError)
        except (ValueError, KeyError, AttributeError, yaml.constructor.ConstructorError):
            raise _Refused(node, f"the YAML tag {_tag(node)} does not fit {node.value!r}; "
                           "remove the tag") from None
        if not node.style and node.tag in (_INT, _TIMESTAMP, _BOOL, _FLOAT):  # plain
            text = node.value
            if node.tag in (_INT, _TIMESTAMP) and not _DECIMAL.fullmatch(text):
                return text  # sexagesimal, octal, hex, 1_000 or a date: keep what was written
            surprising = (text not in ("true", "false") if node.tag == _BOOL
                          else node.tag == _FLOAT and not _PLAIN_FLOAT.fullmatch(text))
            if surprising:  # `no` read as false, `1.10` as 1.1: remembered for a quote hint
                self.loc.written[path] = text
        return value

    def build_scalar_key(self, node: yaml.Node) -> str:
        """Every key of an inventory is text, so a key is the text written: `on:` is the key
        'on' (YAML 1.1 would read True, YAML 1.2 and editors 'on'), `010:` the key '010'."""
        _refuse_tag(node)
        return str(node.value if self.restore is None else node.value.translate(self.restore))


# What to do about libyaml's most common complaints, in the words of someone editing the file.
_HINTS = (
    ("tab character", "; YAML indents with spaces only"),
    ("mapping values are not allowed", "; put text that contains ': ' in quotes, write a space "
     "after the ':' of every key, and check the indentation"),
    ("could not find expected ':'", "; every line of a mapping is key: value (check the "
     "indentation, and that every quote is closed)"),
    ("did not find expected key", "; check the indentation, and put text that starts with [ or "
     "{ in quotes"),
    ("expected '-' indicator", "; check the indentation"),
    ("unknown escape character", "; in double quotes a backslash starts an escape: write \\\\ "
     "for a backslash, or use single quotes"),
    ("expected hexdecimal number", "; in double quotes a backslash starts an escape: write \\\\ "
     "for a backslash, or use single quotes"),
    ("expected a single document", "; an inventory is one YAML document: remove the '---' "
     "line, or split it into several inventories"),
)


def _syntax_hint(problem: str, text: str, line: int, col: int) -> str:
    if "undefined alias" in problem:  # say which one: libyaml does not
        at = text.splitlines()[line - 1][col - 1:] if line <= len(text.splitlines()) else ""
        name = re.match(r"\*([^\s,\[\]{}]+)", at)
        alias = name.group(1) if name else "name"
        return (f" *{alias}: an alias refers to an anchor (&{alias}) written before it in the "
                "same file")
    if "cannot start any token" in problem:
        lines = text.splitlines()
        char = lines[line - 1][col - 1:col] if line <= len(lines) else ""
        return ("; YAML indents with spaces only" if char == "\t" else
                f"; text that starts with {char!r} must be in quotes" if char else "")
    return next((hint for what, hint in _HINTS if what in problem), "")


def position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character `index` of `text`."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def load(text: str, path: str) -> tuple[Located, list[Problem]]:
    """Parse `text`; return the located data and every problem found (syntax or duplicates)."""
    located = Located(data=None, path=path)
    problems: list[Problem] = []
    restore = None
    if any(c in text for c in _BREAKS_11) and not any(c in text for c in _STAND_INS):
        text, restore = text.translate(_TO_STAND_IN), _FROM_STAND_IN
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        context, start = exc.context or "", exc.context_mark
        if start and "unexpected end of stream" in str(exc.problem):  # point at the opening
            return located, [Problem(path, start.line + 1, start.column + 1, "YAML syntax error: "
                                     f"{context} found the end of the file; the quote opened "
                                     "here is never closed", "yaml")]
        if context and start and mark and (start.line, start.column) != (mark.line, mark.column):
            context += f" (from line {start.line + 1}, column {start.column + 1})"
        what = " ".join(str(p) for p in (context, exc.problem) if p)
        return located, [Problem(path, line, col, f"YAML syntax error: {what}"
                                 f"{_syntax_hint(str(exc.problem), text, line, col)}", "yaml")]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow in a file
        index = exc.position
        if _Loader is not yaml.SafeLoader:  # libyaml counts bytes of UTF-8, not characters
            index = len(text.encode("utf-8")[:index].decode("utf-8", "ignore"))
        line, col = position(text, index)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return located, [Problem(path, line, col, f"the character U+{ord(char):04X} is not "
                                 "allowed in a YAML file; write it as an escape (\\u"
                                 f"{ord(char):04x}) inside double quotes", "yaml")]
    except yaml.YAMLError as exc:
        return located, [Problem(path, 1, 1, f"YAML error: {exc}", "yaml")]
    if node is None:
        located.data = None
        return located, problems
    builder = _Builder(located, problems, restore)
    try:
        located.data = builder.build(node, ())
    except _Refused as refused:
        problems.append(Problem(path, *_mark(refused.node), refused.message, "yaml"))
    except _TooLarge as too:
        problems.append(Problem(path, *_mark(too.node), "the aliases of the block anchored here "
                                f"expand to more than {MAX_ALIAS_VALUES:,} values beyond those "
                                "written in the file; rulegen refuses such documents (a "
                                "'billion laughs' bomb?)", "yaml"))
    except RecursionError:
        problems.append(Problem(path, 1, 1, "the YAML document is nested too deeply", "yaml"))
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(path, line, col, f"YAML error: {exc.problem}", "yaml"))
    return located, problems
