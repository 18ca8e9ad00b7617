"""Each signal's trough period (docs/gc-periods.md, "Periods per signal"): gc_period for memory
a GC cycle shapes, a short period for counts and for the JVM's post-GC heap."""

from __future__ import annotations

import re
from pathlib import Path

from rulegen import promtool
from rulegen.generate import compile_inventory
from rulegen.lint import lint_text
from rulegen.lint.context import inventory_context
from rulegen.loader import load_inventory
from rulegen.prove import prove
from rulegen.writer import write_tree

JVM = """services:
  - name: billing
    runtime: jvm
    owner: payments
    memory_limit: {source: metric, metric: cadvisor}
"""


def periods(tmp_path: Path, text: str) -> dict[str, dict[str, int]]:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    return {p.name: p.periods for p in load_inventory(inv).plans}


def ranges(rule_file: str, metric: str) -> set[str]:
    return set(re.findall(rf"{metric}\{{[^}}]*\}}\[(\w+)\]", rule_file))


def test_jvm_counts_and_post_gc_heap_take_the_short_period(tmp_path: Path) -> None:
    """Under the JVM's default 2h: the thread count and the after-GC heap have 5m troughs and
    2h growth windows; the raw heap usage keeps 2h troughs and the forecast's 4h window."""
    assert periods(tmp_path, JVM)["billing"] == {
        "heap": 300, "resident": 7200, "runtime_used": 7200, "runtime_limit": 7200,
        "threads": 300}
    text = compile_inventory(tmp_path / "inventory.yaml", tmp_path / "out").files[
        "rules/jvm/billing.yml"]
    assert ranges(text, "jvm_thread_count") == {"5m", "15m"}  # trough; telemetry-missing
    assert ranges(text, "jvm_memory_used_after_last_gc_bytes") == {"5m", "15m"}
    assert ranges(text, "jvm_memory_used_bytes") == {"2h", "15m"}
    assert ranges(text, r"rulegen:threads:gc_trough") == {"2h", "1h"}
    assert ranges(text, r"rulegen:heap:gc_trough") == {"2h", "1h"}
    assert ranges(text, r"rulegen:resident:gc_trough") == {"4h", "2h", "1h"}
    assert "rulegen:threads:gc_trough{service=\"billing\"} offset 2h5m" in text


def test_the_short_period_stays_within_gc_period_and_scrape(tmp_path: Path) -> None:
    """Never longer than a declared gc_period, never shorter than the scrape interval; other
    runtimes' counts are as short; a heap named in `metrics:` is taken to have a sawtooth."""
    text = """defaults: {owner: platform}
services:
  - {name: fast, runtime: jvm, gc_period: 30s, scrape_interval: 15s}
  - {name: slow, runtime: jvm, scrape_interval: 6m}
  - {name: web, runtime: nodejs, convention: prometheus}
  - name: own
    runtime: jvm
    metrics: {heap: {metric: my_old_gen_bytes}}
  - name: restated
    runtime: jvm
    metrics: {heap: {metric: jvm_memory_used_after_last_gc_bytes}}
  - name: shared
    runtime: jvm
    memory_limit: {source: runtime}
    metrics:
      runtime_used:
        metric: jvm_memory_used_after_last_gc_bytes
        matchers: {jvm_memory_type: heap}
        sum_without: [jvm_memory_pool_name]
"""
    got = periods(tmp_path, text)
    assert (got["fast"]["threads"], got["fast"]["heap"], got["fast"]["resident"]) == (30, 30, 30)
    assert (got["slow"]["threads"], got["slow"]["heap"], got["slow"]["resident"]) == (
        360, 360, 7200)
    assert (got["web"]["handles"], got["web"]["heap"]) == (300, 1800)
    assert (got["own"]["heap"], got["own"]["threads"]) == (7200, 300)
    assert got["restated"]["heap"] == 300  # the catalog's post-GC metric, named again
    # one series, one period: runtime_used is the post-GC heap's series here
    assert (got["shared"]["heap"], got["shared"]["runtime_used"]) == (300, 300)


def test_short_periods_are_proved(tmp_path: Path, promtool_path: str) -> None:
    """The generated tests of a JVM (default 2h) and a Node.js service (30m, handles) pass on
    the real promtool."""
    inv = tmp_path / "inventory.yaml"
    inv.write_text(JVM + """  - name: web
    runtime: nodejs
    convention: prometheus
    owner: web
    memory_limit: {source: metric, metric: cadvisor}
""")
    out = tmp_path / "out"
    write_tree(out, compile_inventory(inv, out).files)
    proof = prove(out, promtool.find_promtool(promtool_path))
    assert proof.ok, "\n".join(f.text for s in proof.services for f in s.failures)[:3000]
    assert proof.cases > 60


def test_the_lint_sees_no_sawtooth_in_a_post_gc_series(tmp_path: Path) -> None:
    """promql/gc-window asks a slope over raw memory for 6 GC periods; the after-GC heap has no
    GC sawtooth, the raw usage of the same JVM has."""
    inv = tmp_path / "inventory.yaml"
    inv.write_text(JVM)
    ctx = inventory_context(load_inventory(inv))

    def flagged(metric: str, rng: str = "2h") -> bool:
        rule = f"{{alert: A, expr: 'deriv({metric}[{rng}]) > 0', labels: {{service: billing}}}}"
        text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
        return any(p.check == "promql/gc-window" for p in lint_text(text, inventory_context=ctx))

    assert not flagged("jvm_memory_used_after_last_gc_bytes")
    assert flagged("jvm_memory_used_bytes")
    # the same under a gc_period as short as the short period: post-GC is no sawtooth either
    inv.write_text(JVM.replace("    owner: payments\n", "    owner: payments\n    gc_period: 5m\n"))
    ctx = inventory_context(load_inventory(inv))
    assert not flagged("jvm_memory_used_after_last_gc_bytes", "20m")
    assert flagged("jvm_memory_used_bytes", "20m")
