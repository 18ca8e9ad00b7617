"""Small PromQL text builders. Label values are quoted by `rulegen.text`; names are validated
upstream."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from rulegen.text import promql_string as quote
from rulegen.units import format_duration

Matcher = tuple[str, str, str]  # (label, op, value)


def selector(metric: str, matchers: Iterable[Matcher]) -> str:
    inner = ", ".join(f"{label}{op}{quote(value)}" for label, op, value in matchers)
    return f"{metric}{{{inner}}}"


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

    @property
    def equality_labels(self) -> dict[str, str]:
        """Labels absent()/absent_over_time() copy from the selector onto their result."""
        return {label: value for label, op, value in self.matchers if op == "="}


def label_replace_chain(expr: str, renames: Sequence[tuple[str, str]]) -> str:
    """Copy each `src` label into `dst` so series with other label names can be matched."""
    for dst, src in renames:
        expr = f'label_replace({expr}, {quote(dst)}, "$1", {quote(src)}, "(.*)")'
    return expr
