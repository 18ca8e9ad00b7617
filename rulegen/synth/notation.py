"""promtool's ``input_series`` expanding notation, and series selectors.

Semantics checked against promtool 2.42 (and its grammar, unchanged in 3.x):

* ``a+bxn`` / ``a-bxn`` give n+1 samples, accumulated as ``v = a; v += ±b`` (so float steps
  are reproduced bit for bit only if accumulation hits each value exactly); ``axn`` gives n+1
  copies of ``a``; ``ax0`` is one sample.
* ``_`` is one missing sample; ``_xn`` is exactly **n** missing samples (``_x0`` none).
* ``stale`` is one staleness marker. Numbers may be signed and use scientific notation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rulegen.synth.series import STALE, Sample, Series
from rulegen.text import promql_string

_UNUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(rf"(?P<a>[+-]?{_UNUM})(?:(?P<op>[+-])(?P<b>{_UNUM}))?(?:x(?P<n>\d+))?")
_BLANKS = re.compile(r"_(?:x(?P<n>\d+))?")
_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _fmt(v: float) -> str:
    """A number promtool parses back exactly: integers without ``.0``, else ``repr``."""
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def _run_end(vals: Sequence[Sample], i: int) -> int:
    """Index of the last sample of the arithmetic run starting at ``vals[i]`` (a number), as
    promtool would accumulate it; ``i`` when there is none."""
    a, nxt = vals[i], vals[i + 1] if i + 1 < len(vals) else None
    if not isinstance(a, float) or not isinstance(nxt, float):
        return i
    d, acc, j = nxt - a, a, i
    if not math.isfinite(d):
        return i
    while j + 1 < len(vals) and isinstance(vals[j + 1], float) and acc + d == vals[j + 1]:
        acc += d
        j += 1
    return j


def encode(values: Sequence[Sample], *, integers: bool = True) -> str:
    """The compact promtool ``values`` string for a series.

    With ``integers`` (the default) values are rounded to the nearest integer first: integer
    series are read identically by Prometheus 2.x and 3.x. Maximal arithmetic runs of three
    or more samples become ``a+bxn`` / ``a-bxn`` / ``axn`` (greedy, left to right), runs of
    missing samples ``_`` / ``_xn``, markers ``stale``. Non-finite values are rejected.
    """
    vals: Series = []
    for v in values:
        if v is None or v is STALE:
            vals.append(v)
        elif not math.isfinite(v):
            raise ValueError(f"promtool notation cannot carry non-finite value {v!r}")
        else:
            vals.append(float(round(v)) if integers else float(v))
    tokens: list[str] = []
    i = 0
    while i < len(vals):
        v = vals[i]
        if v is STALE:
            tokens.append("stale")
            j = i
        elif v is None:
            j = i
            while j + 1 < len(vals) and vals[j + 1] is None:
                j += 1
            tokens.append("_" if j == i else f"_x{j - i + 1}")
        else:
            j = _run_end(vals, i)
            if j - i < 2:  # a pair is no shorter as a run, and may start a longer one
                j = i
                tokens.append(_fmt(v))
            else:
                nxt = vals[i + 1]
                assert isinstance(nxt, float)
                d = nxt - v
                inc = "" if d == 0 else f"{'+' if d > 0 else '-'}{_fmt(abs(d))}"
                tokens.append(f"{_fmt(v)}{inc}x{j - i}")
        i = j + 1
    return " ".join(tokens)


def decode(text: str) -> Series:
    """Expand a promtool ``values`` string (the subset ``encode`` writes, plus signs and
    scientific numbers) into samples. Raises ``ValueError`` on anything else."""
    out: Series = []
    for tok in text.split():
        if tok == "stale":
            out.append(STALE)
        elif m := _BLANKS.fullmatch(tok):
            out.extend([None] * (1 if m["n"] is None else int(m["n"])))
        elif (m := _TOKEN.fullmatch(tok)) and (m["op"] is None or m["n"] is not None):
            acc = float(m["a"])
            step = 0.0 if m["op"] is None else float(m["op"] + m["b"])
            for _ in range(1 if m["n"] is None else int(m["n"]) + 1):
                out.append(acc)
                acc += step
        else:
            raise ValueError(f"not promtool series notation: {tok!r}")
    return out


def selector(metric: str, labels: Mapping[str, str] | None = None) -> str:
    """``metric{a="x", b="y"}`` with labels sorted by name and values escaped; ``metric``
    alone when there are no labels. Names must be legacy (non-UTF-8) Prometheus names."""
    if not _METRIC.fullmatch(metric):
        raise ValueError(f"invalid metric name {metric!r}")
    items = sorted((labels or {}).items())
    for name, _ in items:
        if not _LABEL.fullmatch(name) or name == "__name__":
            raise ValueError(f"invalid label name {name!r}")
    if not items:
        return metric
    return metric + "{" + ", ".join(f"{k}={promql_string(v)}" for k, v in items) + "}"


@dataclass(frozen=True)
class InputSeries:
    """One promtool ``input_series`` entry: a series selector and its ``values`` string."""

    series: str
    values: str

    @classmethod
    def of(
        cls,
        metric: str,
        labels: Mapping[str, str] | None,
        values: Sequence[Sample] | str,
        *,
        integers: bool = True,
    ) -> InputSeries:
        """Build from a metric name, a label dict and samples (encoded) or a ready string."""
        text = values if isinstance(values, str) else encode(values, integers=integers)
        return cls(selector(metric, labels), text)

    def as_dict(self) -> dict[str, str]:
        """``{"series": ..., "values": ...}``, ready for a YAML dump."""
        return {"series": self.series, "values": self.values}
