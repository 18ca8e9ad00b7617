"""Regular expressions as Prometheus compiles them: Go's RE2 syntax, anchored at both ends.

Python's `re` accepts what Go refuses (look-arounds, back-references, `\\Z`) and refuses what
Go accepts (`\\pL`, `\\z`), so selector regexes are checked with RE2 itself, the engine whose
syntax Go's regexp/syntax implements, in the form Prometheus compiles: `^(?s:<regex>)$`.
"""

from __future__ import annotations

import functools
import importlib
import re
from typing import Any

import re2

try:  # Python's own regex parser (re._parser since 3.11, sre_parse before)
    _re_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _re_parser = importlib.import_module("sre_parse")

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error is reported as an inventory problem, not on stderr


@functools.lru_cache(maxsize=4096)
def regex_problem(regex: str) -> str | None:
    """Why Prometheus would refuse `regex`, or None."""
    wrapped = f"^(?s:{regex})$"
    # The regex on its own first: Prometheus parses it alone too (`a)(b` is refused although
    # its wrapped form compiles), and RE2's message then quotes the regex, not the wrapper.
    for pattern in (regex, wrapped):
        try:
            re2.compile(pattern, _OPTIONS)
        except re2.error as exc:
            raw = exc.args[0] if exc.args else ""
            detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            what, _, arg = detail.rpartition(": ")
            detail = what if arg == pattern else detail
            shown = f"'{regex}'" if regex.isprintable() and "'" not in regex else repr(regex)
            return (f"{shown} is not a regular expression Prometheus accepts (RE2 syntax): "
                    f"{detail}")
    return None


def check_regex(regex: str) -> str:
    """A pydantic validator: the regex itself, or a ValueError saying what is wrong."""
    problem = regex_problem(regex)
    if problem:
        raise ValueError(problem)
    return regex


@functools.lru_cache(maxsize=4096)
def _compiled(regex: str) -> re2._Regexp:
    return re2.compile(f"^(?s:{regex})$", _OPTIONS)


def fullmatch(regex: str, value: str) -> bool:
    """Whether Prometheus's `label=~"regex"` matches `value`."""
    return _compiled(regex).search(value) is not None


# Characters tried when the regex's own parts give no match: letters, digits, punctuation.
_POOL = ("main", "app", "x", "a", "A", "0", "1", "-", "_", ".", "/", ":", " ")


def example(regex: str) -> str | None:
    """A non-empty value the regex matches, or None when none was found: each alternative as
    written, a short string built from the regex's parts, then stock values and repeats of
    single characters."""
    cands = [*regex.split("|"), _shortest(regex) or "", *_POOL,
             *(c * n for c in "aA0-_." for n in (2, 3, 4, 8))]
    return next((c for c in cands if c and fullmatch(regex, c)), None)


def matchable(op: str, regex: str) -> bool:
    """Whether some label value (the empty one too: a missing label) meets `label op regex`,
    as far as `example` can tell."""
    if op == "=~":
        return fullmatch(regex, "") or example(regex) is not None
    return any(not fullmatch(regex, v) for v in ("", *_POOL))


def _shortest(pattern: str) -> str | None:
    """A short string a simple regex matches (literals, classes, repeats, groups, branches),
    or None; the caller checks it. Python's regex parser reads RE2's common syntax; what it
    cannot read gives None."""
    try:
        items = _re_parser.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return None
    c = _re_parser

    def gen(seq: Any) -> str:
        out = []
        for op, av in seq:
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.ANY:
                out.append("x")
            elif op is c.IN:
                first = av[0]
                if first[0] is c.LITERAL:
                    out.append(chr(first[1]))
                elif first[0] is c.RANGE:
                    out.append(chr(first[1][0]))
                elif first[0] is c.CATEGORY:
                    out.append("0" if "DIGIT" in str(first[1]) else "a")
                else:
                    out.append("x")
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
                out.append(gen(av[2]) * max(av[0], 1 if av[1] else 0))
            elif op is c.SUBPATTERN:
                out.append(gen(av[-1]))
            elif op is c.BRANCH:
                out.append(gen(av[1][0]))
            elif op is not c.AT:
                out.append("x")
        return "".join(out)

    return gen(items)
