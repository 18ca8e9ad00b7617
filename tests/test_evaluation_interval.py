"""`evaluation_interval`: a service's rules evaluated (and proved) at an interval of their own
(docs/inventory.md, docs/families.md "Evaluation interval").

The rule group carries `interval:`, the members group of a class too; the shared fleet limit
the shortest of its readers' intervals where all of them set one (else Prometheus's global
interval). The generated tests step at the service's
interval with its limit and members groups first, and the slices keep that order. Proved with
the real promtool of both release lines. What the inventory may not say (an interval as long as
longer than 10m) is in tests/inventories/broken/.

From the lookback delta (5m) on, a recorded series is read with `last_over_time`: at an offset
over one interval (its own group's evaluation then), from another group (the fleet limit, the
members, the peaks the limit joins onto) over two, and the troughs are taken over at least the
interval.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from rulegen.errors import ExitCode
from rulegen.slices import slice_test
from tests.conftest import ROOT, example_slice

SLICE = ("checkout", "ad", "fraud-detection")  # go with a cAdvisor limit; a jvm class of two


def inventory(interval: str | None, layout: str = "service") -> str:
    text = example_slice(*SLICE)
    if interval:
        text = text.replace("defaults:\n", f"defaults:\n  evaluation_interval: {interval}\n", 1)
    if layout != "service":
        text = text.replace("output:\n", f"output:\n  layout: {layout}\n", 1)
    return text


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The slice generated without an interval, at 4m, at 4m in the class layout, and at 8m
    in both layouts."""
    from rulegen.generate import generate_tree
    out = {}
    for key, interval, layout in (("none", None, "service"), ("4m", "4m", "service"),
                                  ("4m-classes", "4m", "classes"), ("8m", "8m", "service"),
                                  ("8m-classes", "8m", "classes")):
        root = tmp_path_factory.mktemp(key)
        (root / "inventory.yaml").write_text(inventory(interval, layout))
        generate_tree(root / "inventory.yaml", root / "rules_out")
        out[key] = root
    return out


def groups(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return yaml.safe_load(path.read_text())["groups"]  # type: ignore[no-any-return]


def proof_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / "tests" / "classes").glob("*/*.yml")
                  if not p.name.endswith(".rules.yml"))


def test_the_example_inventory_has_an_output_section() -> None:
    assert "\noutput:\n" in example_slice(*SLICE)  # inventory(layout=...) edits it


def test_rule_groups_and_their_fleet_limit_carry_the_interval(trees: dict[str, Path]) -> None:
    out = trees["4m"] / "rules_out" / "rules"
    [checkout] = groups(out / "go" / "checkout.yml")
    assert checkout["interval"] == "4m"
    [limit] = groups(next((out / "limits").glob("cadvisor-*.yml")))
    assert limit["interval"] == "4m"
    assert all("interval" not in g for p in (trees["none"] / "rules_out" / "rules").rglob("*.yml")
               for g in groups(p))


@pytest.mark.parametrize(("currency", "email", "limit"), [
    ("4m", None, None),  # a reader at the global interval: the limit at it too
    ("4m", "2m", "2m"),  # the shortest of its readers'
    ("3m", "3m", "3m"),
])
def test_a_fleet_limit_runs_at_its_readers_shortest_interval(
        tmp_path: Path, currency: str, email: str | None, limit: str | None) -> None:
    from rulegen.generate import generate_tree
    text = example_slice("currency", "email")  # both read the docker-stats limit
    for name, interval in (("currency", currency), ("email", email)):
        if interval:
            text = text.replace(f"  - name: {name}\n",
                                f"  - name: {name}\n    evaluation_interval: {interval}\n", 1)
    (tmp_path / "inventory.yaml").write_text(text)
    generate_tree(tmp_path / "inventory.yaml", tmp_path / "rules_out")
    [group] = groups(next((tmp_path / "rules_out" / "rules" / "limits").glob("docker-*.yml")))
    assert group.get("interval") == limit
    [own] = groups(tmp_path / "rules_out" / "rules" / "process" / "currency.yml")
    assert own["interval"] == currency


def test_a_class_and_its_members_run_at_the_interval(trees: dict[str, Path]) -> None:
    classes = trees["4m-classes"] / "rules_out" / "rules" / "classes"
    members = sorted(classes.glob("*.members.yml"))
    own = sorted(set(classes.glob("*.yml")) - set(members))
    assert members and own
    assert {g["interval"] for p in [*own, *members] for g in groups(p)} == {"4m"}


def test_tests_step_at_the_interval_with_the_limit_group_first(trees: dict[str, Path]) -> None:
    docs = {p: yaml.safe_load(p.read_text()) for p in proof_files(trees["4m"] / "rules_out")}
    assert docs and {d["evaluation_interval"] for d in docs.values()} == {"4m"}
    go = next(d for p, d in docs.items() if "/go/" in p.as_posix())
    assert go["group_eval_order"][0].startswith("rulegen.limit.cadvisor-")
    assert go["group_eval_order"][1:] == ["rulegen.@rulegen-id-1@"]
    plain = [yaml.safe_load(p.read_text()) for p in proof_files(trees["none"] / "rules_out")]
    assert {d["evaluation_interval"] for d in plain} == {"1m"}
    assert not any("group_eval_order" in d for d in plain)


def test_for_is_written_as_prometheus_waits_it_at_the_interval(trees: dict[str, Path]) -> None:
    """Prometheus fires at the first evaluation at least `for` after the first that found the
    condition: a default `for` is written as that multiple of the interval (limit-ratio's and
    telemetry-missing's 5m wait 8m at 4m, limit-forecast's 15m 16m); one the inventory sets
    (the example's memory-growth `for: 15m`, in `defaults:`) is kept as written, with one
    warning where it is set, not one per service."""
    from rulegen.loader import load_text

    def fors(root: Path) -> dict[str, str]:
        path = root / "rules_out" / "rules" / "go" / "checkout.yml"
        return {r["alert"]: r["for"] for g in groups(path) for r in g["rules"] if "alert" in r}

    assert fors(trees["4m"]) == {"MemoryLeakSuspected": "15m", "MemoryNearLimit": "8m",
                                 "MemoryLimitExhaustionForecast": "16m",
                                 "GoroutineLeakSuspected": "16m", "LeakTelemetryMissing": "8m"}
    assert fors(trees["none"]) == {"MemoryLeakSuspected": "15m", "MemoryNearLimit": "5m",
                                   "MemoryLimitExhaustionForecast": "15m",
                                   "GoroutineLeakSuspected": "15m", "LeakTelemetryMissing": "5m"}
    # At 8m a growth family's default waits at least three intervals (the condition at four
    # evaluations in a row: docs/families.md, "Evaluation interval").
    assert fors(trees["8m"]) == {"MemoryLeakSuspected": "15m", "MemoryNearLimit": "8m",
                                 "MemoryLimitExhaustionForecast": "16m",
                                 "GoroutineLeakSuspected": "24m", "LeakTelemetryMissing": "8m"}
    text = inventory("4m")
    line = text.splitlines().index("      for: 15m") + 1
    [warning] = load_text(text, "inventory.yaml").warnings
    assert (warning.line, warning.col) == (line, 12)
    assert warning.message.startswith("memory-growth: for: 15m is not a multiple of "
                                      "evaluation_interval 4m: the alert fires only after 16m")
    assert load_text(text.replace("      for: 15m", "      for: 16m"), "inventory.yaml"
                     ).warnings == []


def test_each_slice_keeps_the_order_of_the_groups_it_runs(trees: dict[str, Path]) -> None:
    test = next(p for p in proof_files(trees["4m"] / "rules_out") if "/go/" in p.as_posix())
    doc = yaml.safe_load(test.read_text())
    cut = slice_test(test, doc)
    assert cut, "a test file with a group_eval_order list is sliced"
    orders = []
    for part in cut:
        kept = {g["name"] for _, text in part.rule_files for g in yaml.safe_load(text)["groups"]}
        order = yaml.safe_load(part.test).get("group_eval_order", [])
        assert set(order) == kept
        assert order == [g for g in doc["group_eval_order"] if g in kept]
        orders.append(order)
    assert [doc["group_eval_order"][0], "rulegen.@rulegen-id-1@"] in orders  # a limit slice


def exprs(path: Path) -> dict[str, str]:
    return {r.get("alert", r.get("record")) + str(r.get("labels", {}).get("signal", "")):
            r["expr"] for g in groups(path) for r in g["rules"]}


def test_at_the_lookback_delta_and_beyond_recorded_series_are_read_over_intervals(
        trees: dict[str, Path]) -> None:
    """At 8m an instant selector (5m of lookback) would miss the sample an interval ago: the
    growth test's troughs and slope an offset ago are read over one interval (its own group
    recorded them then), the limit, the members and the peaks over two (another group, at
    whatever phase); the troughs are taken over the interval, not the 5m period."""
    rules = trees["8m"] / "rules_out" / "rules"
    e = exprs(rules / "go" / "checkout.yml")
    own = '{service="checkout"}'
    assert (f"last_over_time(rulegen:heap:gc_trough_deriv1h{own}[8m] offset 1h)"
            in e["MemoryLeakSuspected"])
    assert f"last_over_time(rulegen:heap:gc_trough{own}[8m] offset 2h)" in e["MemoryLeakSuspected"]
    assert (f"last_over_time(rulegen:heap:gc_trough{own}[8m] offset 2h8m)"
            in e["MemoryLeakSuspected"])  # a trough period (now 8m) before that
    assert "min_over_time(go_memory_used_bytes{" in e["rulegen:heap:gc_trough"]
    assert "[8m]) >= 4" in e["rulegen:heap:gc_trough"]  # half the 8 samples of 1m scrapes
    limit = 'last_over_time(rulegen:memory_limit_bytes{rulegen_limit="cadvisor-9b5d81f4", ' \
            'service="checkout"}[16m])'
    assert limit in e["MemoryNearLimit"] and limit in e["LeakTelemetryMissingmemory_limit"]
    [fleet] = [r["expr"] for g in groups(next((rules / "limits").glob("cadvisor-*.yml")))
               for r in g["rules"]]
    assert fleet.endswith("(last_over_time(rulegen:resident:gc_peak[16m]))")
    classes = trees["8m-classes"] / "rules_out" / "rules" / "classes"
    members = [v for p in classes.glob("*.yml") if not p.name.endswith(".members.yml")
               for k, v in exprs(p).items() if k.startswith("LeakTelemetryMissing")
               and k != "LeakTelemetryMissingmemory_limit"]
    assert members and all(v.startswith("last_over_time(rulegen:class_member{")
                           and "[16m])" in v for v in members)
    # Below the lookback delta the reads stay instant selectors.
    assert "last_over_time" not in (trees["4m"] / "rules_out" / "rules" / "go" / "checkout.yml"
                                    ).read_text()


@pytest.mark.promtool
@pytest.mark.parametrize("interval", ["4m", "8m"])
@pytest.mark.parametrize("layout", ["service", "classes"])
def test_proved_at_the_interval(tmp_path: Path, rulegen, promtool_path: str,  # type: ignore[no-untyped-def]
                                layout: str, interval: str) -> None:
    """`rulegen check` passes at 4m and 8m on each promtool line: every generated case,
    leaking and healthy, holds when Prometheus evaluates the rules every 4 (8) minutes."""
    (tmp_path / "inventory.yaml").write_text(inventory(interval, layout))
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    assert rulegen("generate", "inventory.yaml", "--templates", "templates").code == 0
    r = rulegen("check", "inventory.yaml", "--templates", "templates", "--promtool",
                promtool_path)
    assert r.code == ExitCode.OK, r.stdout + r.stderr
