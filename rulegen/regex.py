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
