"""Each test group runs against only the rules it reads (rulegen/slices.py, docs/classes.md).

A slice keeps the alerts its test groups ask about and, at any depth, the recording rules they
read, unchanged and in file order; nothing else. Where that cannot be known the file is run
whole. With the real promtool, the sliced runs of a test file fail exactly the expectations
the whole file's run fails, on the generated tests as they are and with a rule broken.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from rulegen import promtool, rulefile
from rulegen.generate import generate_tree
from rulegen.prove import _run_tests
from rulegen.slices import _names, slice_test
from tests.conftest import example_slice


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's checkout (go, cAdvisor limit) and ad (jvm) services, generated."""
    root = tmp_path_factory.mktemp("slices")
    inv = root / "inventory.yaml"
    inv.write_text(example_slice("checkout", "ad"))
    generate_tree(inv, root / "rules_out")
    return root / "rules_out"


def class_tests(out: Path) -> list[Path]:
    return sorted(p for p in (out / "tests" / "classes").glob("*/*.yml")
                  if not p.name.endswith(".rules.yml"))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules_of(texts: list[str]) -> list[rulefile.Rule]:
    return [r for t in texts for r in rulefile.parse(t).rules]


def test_each_group_gets_the_rules_it_reads_and_nothing_else(tree: Path) -> None:
    tests = class_tests(tree)
    assert len(tests) == 2
    for test in tests:
        doc = load(test)
        whole = rules_of([(test.parent / e).read_text() for e in doc["rule_files"]])
        cut = slice_test(test, doc)
        assert cut is not None and len(cut) > 1
        groups = [g for s in cut for g in s.groups]
        assert sorted(groups) == sorted(g["name"] for g in doc["tests"])  # each once
        for s in cut:
            kept = rules_of([text for _, text in s.rule_files])
            assert kept and len(kept) < len(whole)
            # unchanged rules of the file, in file order
            kept_data = [r.data for r in kept]
            assert kept_data == [r.data for r in whole if r.data in kept_data]
            sliced = yaml.safe_load(s.test)
            asked = set()
            for g in sliced["tests"]:
                asked |= {t["alertname"] for t in g.get("alert_rule_test") or []}
                for t in g.get("promql_expr_test") or []:
                    asked |= {n.split("\0")[1] for n in _names(t["expr"]) or ()
                              if n.startswith("ALERTS\0")}
            assert {r.name for r in kept if r.is_alert} == asked
            records = {r.name for r in kept if not r.is_alert}
            read = set().union(*(_names(r.expr) or set() for r in kept))
            # every recording rule a kept rule reads is kept, and no other
            assert records == {r.name for r in whole if not r.is_alert} & read
            assert sliced["evaluation_interval"] == doc["evaluation_interval"]


def test_the_memory_growth_cases_run_against_their_alert_and_its_troughs(tree: Path) -> None:
    """The alert, the troughs it reads, and the troughs a day ago and the troughs' slopes (which
    read the troughs)."""
    test = next(p for p in class_tests(tree) if "/go/" in p.as_posix())
    cut = slice_test(test, load(test)) or []
    [growth] = [s for s in cut if any(g.startswith("memory-growth/") for g in s.groups)]
    kept = rules_of([text for _, text in growth.rule_files])
    assert [(r.kind, r.name) for r in kept] == [("record", "rulegen:heap:gc_trough"),
                                                ("record", "rulegen:heap:gc_trough_max1h_offset1d"),
                                                ("record", "rulegen:heap:gc_trough_deriv1h"),
                                                ("record", "rulegen:heap:gc_trough_deriv2h"),
                                                ("alert", "MemoryLeakSuspected")]
    assert all(g.startswith("memory-growth/") for g in growth.groups)


@pytest.mark.parametrize("change", [
    pytest.param(lambda d: d.__setitem__("group_eval_order", "x"), id="group_eval_order-no-list"),
    pytest.param(lambda d: d["rule_files"].append("*.rules.yml"), id="glob"),
    pytest.param(lambda d: d["tests"][0].setdefault("promql_expr_test", []).append(
        {"expr": "sum(", "eval_time": "1m", "exp_samples": []}), id="unparsable-expr"),
    pytest.param(lambda d: d["tests"][0].setdefault("promql_expr_test", []).append(
        {"expr": '{__name__=~"rulegen:.*"}', "eval_time": "1m", "exp_samples": []}),
        id="selector-without-name"),
])
def test_what_cannot_be_known_runs_the_file_whole(tree: Path, change: Any) -> None:
    test = class_tests(tree)[0]
    doc = load(test)
    assert slice_test(test, doc) is not None
    change(doc)
    assert slice_test(test, doc) is None


def test_alerts_read_without_a_name_keep_every_alert(tree: Path) -> None:
    test = class_tests(tree)[0]
    doc = load(test)
    doc["tests"][0]["promql_expr_test"] = [
        {"expr": 'ALERTS{alertstate="firing"}', "eval_time": "1m", "exp_samples": []}]
    doc["tests"][0].pop("alert_rule_test", None)
    cut = slice_test(test, doc) or []
    [first] = [s for s in cut if doc["tests"][0]["name"] in s.groups]
    whole = rules_of([(test.parent / e).read_text() for e in doc["rule_files"]])
    kept = rules_of([text for _, text in first.rule_files])
    assert {r.name for r in kept if r.is_alert} == {r.name for r in whole if r.is_alert}


def failures(result: promtool.TestResult) -> set[tuple[str | None, str | None, str | None]]:
    return {(f.group, f.alertname, f.expr) for f in result.failures}


@pytest.mark.promtool
@pytest.mark.slow
@pytest.mark.parametrize("broken", [False, True], ids=["as-generated", "trough-broken"])
def test_sliced_runs_fail_what_the_whole_file_fails(
        tree: Path, promtool_path: str, broken: bool, tmp_path: Path) -> None:
    """Sliced or whole, promtool fails the same expectations. Broken: the go class's heap
    trough recording rule records twice the trough, which only the slices that keep it see."""
    out = tmp_path / "rules_out"
    shutil.copytree(tree, out)
    test = next(p for p in class_tests(out) if "/go/" in p.as_posix())
    rules = test.with_name(test.stem + ".rules.yml")
    if broken:
        head, record, rest = rules.read_text().partition("record: rulegen:heap:gc_trough\n")
        assert record and "min_over_time(" in rest.split("record:")[0]
        rules.write_text(head + record + rest.replace("min_over_time(", "2 * min_over_time(", 1))
    pt = promtool.find_promtool(promtool_path)
    [whole] = promtool.test_rules(pt, [str(test)])
    [(_, _, sliced, _)] = list(_run_tests(pt, [(rules, test, load(test))], jobs=2))
    assert sliced.file == str(test)
    assert whole.ok is not broken and sliced.ok is not broken
    assert failures(sliced) == failures(whole)
    if broken:
        assert {f.group for f in sliced.failures} & {"memory-growth/batch", "limit-forecast/batch",
                                                     "memory-growth/leak-linear"}
        assert "rulegen-slices-" not in sliced.output  # no temporary path
        assert f"rulegen: test groups memory-growth/leak-linear, memory-growth/batch of {test}" \
            in sliced.output


@pytest.mark.promtool
@pytest.mark.slow
def test_equal_slices_run_once_and_each_file_gets_the_result_under_its_own_name(
        tree: Path, promtool_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two test files whose slices are equal byte for byte (here: a copy of the go class's
    files under other names, its heap trough broken in both) cost one run per slice, and each
    file's result names that file only."""
    out = tmp_path / "rules_out"
    shutil.copytree(tree, out)
    test = next(p for p in class_tests(out) if "/go/" in p.as_posix())
    rules = test.with_name(test.stem + ".rules.yml")
    head, record, rest = rules.read_text().partition("record: rulegen:heap:gc_trough\n")
    rules.write_text(head + record + rest.replace("min_over_time(", "2 * min_over_time(", 1))
    twin, twin_rules = test.with_name("twin.yml"), test.with_name("twin.rules.yml")
    twin_rules.write_text(rules.read_text())
    twin.write_text(test.read_text().replace(rules.name, twin_rules.name))
    assert twin.read_text() != test.read_text()
    ran: list[list[str]] = []
    real = promtool.test_rules

    def counted(pt: promtool.Promtool, files: list[str], **kw: Any) -> list[promtool.TestResult]:
        ran.append(files)
        return real(pt, files, **kw)

    monkeypatch.setattr(promtool, "test_rules", counted)
    pt = promtool.find_promtool(promtool_path)
    got = {t: r for _, t, r, _ in _run_tests(
        pt, [(rules, test, load(test)), (twin_rules, twin, load(twin))], jobs=2)}
    cut = slice_test(test, load(test))
    assert cut is not None and len(cut) > 1
    assert len(ran) == len(cut)  # not twice as many
    assert got[test].failures and not got[test].ok and not got[twin].ok
    assert failures(got[test]) == failures(got[twin])
    for mine, other in ((test, twin), (twin, test)):
        r = got[mine]
        said = r.output + "".join(f.text for f in r.failures)
        assert r.file == str(mine) and str(mine) in said
        assert str(other) not in said and "rulegen-slices-" not in said
        assert f"rulegen: test groups memory-growth/leak-linear, memory-growth/batch of {mine}" \
            in r.output
