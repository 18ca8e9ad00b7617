"""Regular expressions as Prometheus compiles them: Go's RE2 syntax, anchored at both ends.

Python's `re` accepts what Go refuses (look-arounds, back-references, `\\Z`) and refuses what
Go accepts (`\\pL`, `\\z`), so selector regexes are checked with RE2 itself, the engine whose
syntax Go's regexp/syntax implements, in the form Prometheus compiles: `^(?s:<regex>)$`.
"""

from __future__ import annotations

import functools

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error is reported as an inventory problem, not on stderr


@functools.lru_cache(maxsize=4096)
def regex_problem(regex: str) -> str | None:
    """Why Prometheus would refuse `regex`, or None."""
    wrapped = f"^(?s:{regex})$"
    try:
        re2.compile(wrapped, _OPTIONS)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        what, _, arg = detail.rpartition(": ")
        detail = what if arg == wrapped else detail
        return f"{regex!r} is not a regular expression Prometheus accepts (RE2 syntax): {detail}"
    return None


def check_regex(regex: str) -> str:
    """A pydantic validator: the regex itself, or a ValueError saying what is wrong."""
    problem = regex_problem(regex)
    if problem:
        raise ValueError(problem)
    return regex
