"""The runtime x convention metric catalog (catalog.yaml), loaded once."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import yaml

from rulegen.units import parse_duration

SIGNALS = ("heap", "resident", "runtime_used", "runtime_limit", "goroutines", "threads", "handles",
           "major_gcs")
COUNTER_SIGNALS = ("major_gcs",)  # counters (the rules take increase()); the others are gauges
HISTOGRAM_PARTS = ("_count", "_sum", "_bucket")


@dataclass(frozen=True)
class SignalDef:
    metric: str
    matchers: tuple[tuple[str, str, str], ...] = ()  # (label, op, value)
    sum_without: tuple[str, ...] = ()
    post_gc: bool = False  # the runtime reports it after each GC: its own trough, no sawtooth


@dataclass(frozen=True)
class LimitSourceDef:
    metric: str
    matchers: tuple[tuple[str, str, str], ...]
    labels: tuple[str, ...]
    always_present: bool


@dataclass(frozen=True)
class Catalog:
    conventions: dict[str, str]
    runtimes: dict[str, str]
    signals: dict[tuple[str, str], dict[str, SignalDef]]  # (runtime, convention) -> signals
    limit_sources: dict[str, LimitSourceDef]
    gc_periods: dict[str, int]  # runtime -> its default gc_period, seconds (docs/gc-periods.md)

    def conventions_for(self, runtime: str) -> list[str]:
        return [c for c in self.conventions if (runtime, c) in self.signals]

    @functools.cached_property
    def counter_metrics(self) -> frozenset[str]:
        """Every metric a counter signal names, in any runtime and convention."""
        return frozenset(d.metric for sigs in self.signals.values()
                         for name, d in sigs.items() if name in COUNTER_SIGNALS)

    def post_gc_metrics(self, runtime: str, convention: str) -> frozenset[str]:
        """The metrics of the pair that the runtime reports after each GC (`post_gc`)."""
        return frozenset(d.metric for d in self.signals.get((runtime, convention), {}).values()
                         if d.post_gc)


_OPS = {"regex": "=~", "not": "!=", "not_regex": "!~", "not_": "!="}


def matcher_tuples(raw: dict[str, Any] | None) -> tuple[tuple[str, str, str], ...]:
    """{label: value | {regex|not|not_regex: value}} -> sorted (label, op, value) tuples."""
    out: list[tuple[str, str, str]] = []
    for label, spec in (raw or {}).items():
        if isinstance(spec, dict):
            out.extend((label, _OPS[k], str(v)) for k, v in spec.items() if v is not None)
        elif hasattr(spec, "model_dump"):
            out.extend((label, _OPS[k], str(v)) for k, v in spec.model_dump().items()
                       if v is not None)
        else:
            out.append((label, "=", str(spec)))
    return tuple(sorted(out))


def _signal(raw: dict[str, Any]) -> SignalDef:
    return SignalDef(raw["metric"], matcher_tuples(raw.get("matchers")),
                     tuple(raw.get("sum_without", ())), bool(raw.get("post_gc", False)))


def without_suffixes(metric: str, suffixes: Sequence[str]) -> str:
    """`metric` with each of `suffixes` taken off its end, or from before a histogram's
    _count/_sum/_bucket: v8js_gc_duration_seconds_count -> v8js_gc_duration_count."""
    for suffix in suffixes:
        part = next((p for p in HISTOGRAM_PARTS if metric.endswith(suffix + p)), "")
        if metric.endswith(suffix + part):
            metric = metric[: len(metric) - len(suffix + part)] + part
    return metric


def _stripped(sig: SignalDef, suffixes: Sequence[str]) -> SignalDef:
    return replace(sig, metric=without_suffixes(sig.metric, suffixes))


@functools.cache
def load() -> Catalog:
    text = resources.files("rulegen").joinpath("catalog.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    signals = {
        (rt, conv): {name: _signal(spec) for name, spec in sigs.items()}
        for rt, body in raw["runtimes"].items()
        for conv, sigs in body["signals"].items()
    }
    for conv, body in raw["conventions"].items():  # conventions derived from another's names
        derive = body.get("derive")
        if derive:
            signals.update({
                (rt, conv): {n: _stripped(sig, derive["strip_suffixes"]) for n, sig in sigs.items()}
                for (rt, base), sigs in list(signals.items()) if base == derive["from"]})
    limits = {
        name: LimitSourceDef(spec["metric"], matcher_tuples(spec.get("matchers")),
                             tuple(spec["labels"]), bool(spec["always_present"]))
        for name, spec in raw["limit_sources"].items()
    }
    return Catalog(
        conventions={k: v["description"] for k, v in raw["conventions"].items()},
        runtimes={k: v["description"] for k, v in raw["runtimes"].items()},
        signals=signals,
        limit_sources=limits,
        gc_periods={k: parse_duration(v["gc_period"]) for k, v in raw["runtimes"].items()},
    )
