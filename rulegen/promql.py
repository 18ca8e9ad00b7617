"""Small PromQL text builders. Label values are quoted by `rulegen.text`; names are validated
upstream."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from rulegen.text import promql_string as quote
from rulegen.units import format_duration

Matcher = tuple[str, str, str]  # (label, op, value)

# Prometheus's default lookback delta: an instant selector finds the last sample within it (left-
# open from 3.0).
LOOKBACK = 300


def selector(metric: str, matchers: Iterable[Matcher]) -> str:
    inner = ", ".join(f"{label}{op}{quote(value)}" for label, op, value in matchers)
    return f"{metric}{{{inner}}}"


def last_sample(sel: str, every: int | None, offset: int = 0, *,
                other_group: bool = False) -> str:
    """A recorded series as recorded `offset` ago (its own group's earlier evaluation), or
    (`other_group`) as another rule group last recorded it. `every`: the recording group's
    interval (None: Prometheus's global one). Below the lookback delta, an instant selector
    finds that sample. A group evaluated as seldom as the lookback delta or more seldom is read
    with `last_over_time`: over one interval, which holds exactly one of its own group's
    evaluations (ranges are left-open from Prometheus 3.0, so the one an interval earlier is
    not in it); over two for another group, whose last evaluation can be a whole interval old
    at whatever phase the two groups run (docs/families.md, "Evaluation interval")."""
    off = f" offset {format_duration(offset)}" if offset else ""
    if every is None or every < LOOKBACK:
        return f"{sel}{off}"
    span = 2 * every if other_group else every
    return f"last_over_time({sel}[{format_duration(span)}]{off})"


def label_list(labels: Sequence[str]) -> str:
    return ", ".join(labels)


@dataclass(frozen=True)
class Series:
    """One resolved signal of one service: a selector plus the labels summed away."""

    metric: str
    matchers: tuple[Matcher, ...]
    sum_without: tuple[str, ...] = ()

    @cached_property  # read many times per rule file
    def sel(self) -> str:
        return selector(self.metric, self.matchers)

    def agg(self, inner: str) -> str:
        if not self.sum_without:
            return inner
        return f"sum without ({label_list(self.sum_without)}) ({inner})"

    def over(self, fn: str, seconds: int, offset: int = 0) -> str:
        """`fn(sel[range] offset o)`, summed over `sum_without`."""
        off = f" offset {format_duration(offset)}" if offset else ""
        return self.agg(f"{fn}({self.sel}[{format_duration(seconds)}]{off})")

    @property
    def value(self) -> str:
        return self.agg(self.sel)

    def widened(self, label: str, value: str, regex: str) -> Series:
        """This series with the matcher `label="value"` made `label=~"regex"` (a rule class
        selects all its members at once, rulegen/layout.py)."""
        return Series(self.metric, tuple((n, "=~", regex) if (n, op, v) == (label, "=", value)
                                         else (n, op, v) for n, op, v in self.matchers),
                      self.sum_without)

    @property
    def equality_labels(self) -> dict[str, str]:
        """Labels absent()/absent_over_time() copy from the selector onto their result."""
        return {label: value for label, op, value in self.matchers if op == "="}


_REGEX_SPECIAL = frozenset(".^$*+?()[]{}|\\")


def alternation(values: Sequence[str]) -> str:
    """A regex matching exactly `values` (Prometheus anchors it): `a|b\\.c`."""
    return "|".join("".join("\\" + c if c in _REGEX_SPECIAL else c for c in v) for v in values)


def label_replace(expr: str, dst: str, replacement: str, src: str = "", regex: str = "") -> str:
    return (f"label_replace({expr}, {quote(dst)}, {quote(replacement)}, {quote(src)}, "
            f"{quote(regex)})")


def copy_label(expr: str, dst: str, src: str) -> str:
    """`expr` with label `dst` set to the value of its label `src`."""
    return label_replace(expr, dst, "$1", src, "(.*)")


# A metric name no series has: `absent()` of a selector on it is one series of value 1 whose
# labels are the selector's equality matchers. Half the cost of `label_replace` over
# `vector(1)` once per label (measured on Prometheus 2.42 and 3.5, bench/README.md, "The limit
# at the services' interval").
NO_SERIES = "rulegen:no_series"


def constant_series(labels: Sequence[tuple[str, str]]) -> str:
    """One series of value 1 with exactly `labels` (a name given twice: its last value;
    `absent()` drops a label matched twice)."""
    return f"absent({selector(NO_SERIES, [(n, '=', v) for n, v in dict(labels).items()])})"


def union(terms: Sequence[str]) -> str:
    """`a or b or ...` as a balanced tree: a chain of n `or`s copies its growing left side n
    times (measured, bench/README.md)."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"(\n  {_indent(union(terms[:half]))}\n)\nor\n(\n  {_indent(union(terms[half:]))}\n)"


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def label_replace_chain(expr: str, renames: Sequence[tuple[str, str]]) -> str:
    """Copy each `src` label into `dst` so series with other label names can be matched."""
    for dst, src in renames:
        expr = copy_label(expr, dst, src)
    return expr
