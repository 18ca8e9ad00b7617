"""Generated promtool tests (rulegen/testgen.py, rulegen/cases/, templates/tests/).

The example inventory's generated tests pass under the real promtool; templates with a piece of
the growth design removed turn specific healthy cases red; `verify_tests` catches what promtool
lets pass; the output is deterministic.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rulegen import promtool
from rulegen.cases import (
    limit_forecast,
    limit_ratio,
    memory_growth,
    no_limit,
    registry,
)
from rulegen.cases.builder import satisfy
from rulegen.cases.settings import Settings
from rulegen.classes import is_test_file, read_index
from rulegen.families import FAMILIES
from rulegen.generate import compile_inventory
from rulegen.gotemplate import expand, humanize, humanize1024, humanize_percentage, stable
from rulegen.loader import load_inventory
from rulegen.verify import verify_output, verify_tests
from rulegen.writer import write_tree
from tests.conftest import EXAMPLE, ROOT, example_slice, service_test

MACROS = ROOT / "templates" / "_macros.j2"


def case_of(expr: str) -> str | None:
    """The case a generated expression test belongs to: its `# <family>/<case>` comment."""
    m = re.search(r"#\s*(\S+)\s*$", expr)
    return m[1] if m else None


def failing_groups(result: promtool.TestResult) -> set[str]:
    """Test group names of a failed run: promtool names the group of a failed alert test; a
    failed expression test is named by the `# <group>` comment the generator appends."""
    names: set[str] = set()
    for f in result.failures:
        if f.group:
            names.add(f.group)
        elif f.expr and (case := case_of(f.expr)):
            names.add(case)
        else:
            names.add(f"<unattributed: {f.text[:200]}>")
    return names


def groups(text: str) -> Iterator[dict[str, Any]]:
    yield from yaml.safe_load(text)["tests"]


def case_names(text: str) -> set[str]:
    """Every case of a test file: the groups of one case, and the cases of a batch (named by
    the `# <family>/<case>` comment of their expressions)."""
    names = set()
    for g in groups(text):
        if not g["name"].endswith("/batch"):
            names.add(g["name"])
        names |= {str(case_of(t["expr"])) for t in g.get("promql_expr_test", [])}
    return names


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("example") / "rules_out"
    files = compile_inventory(EXAMPLE, out).files
    write_tree(out, files)
    return out, files


# --- the example passes, and covers every alert --------------------------------------------


@pytest.mark.promtool
@pytest.mark.slow
def test_example_tests_pass_under_promtool(example: tuple[Path, dict[str, str]]) -> None:
    out, files = example
    tests = sorted(p for p in files if is_test_file(p))
    # one test file per proof class, and the classes cover every service
    classes = read_index(out) or []
    assert tests == sorted(f"tests/{c.tests}" for c in classes)
    assert sorted(s for c in classes for s in c.services) == sorted(
        f"{p.runtime}/{p.name}" for p in load_inventory(EXAMPLE).plans)
    assert verify_output(files) == []
    results = promtool.test_rules(promtool.find_promtool(), [out / t for t in tests])
    assert {Path(r.file).relative_to(out).as_posix(): failing_groups(r)
            for r in results if not r.ok} == {}


def test_every_alert_has_leaking_and_healthy_cases(example: tuple[Path, dict[str, str]]) -> None:
    _, files = example
    for plan in load_inventory(EXAMPLE).plans:
        # the test file of the service's proof class (rulegen/classes.py): every alert of
        # every service has its cases there
        _, text = service_test(files, f"{plan.runtime}/{plan.name}")
        by_family: dict[str, list[dict[str, Any]]] = {}
        for g in groups(text):
            assert g["interval"] == "1m"
            by_family.setdefault(g["name"].split("/")[0], []).append(g)
        assert set(by_family) == {a.family.id for a in plan.alerts}, plan.name
        for alert in plan.alerts:
            gs = by_family[alert.family.id]
            primary = [t for g in gs for t in g.get("alert_rule_test", [])
                       if t["alertname"] == alert.family.alertname and t.get("exp_alerts")]
            assert primary, (plan.name, alert.family.id)
            for t in primary:  # exact labels and annotations, with the rule's own labels
                for exp in t["exp_alerts"]:
                    assert set(dict(alert.labels)) <= set(exp["exp_labels"])
                    assert exp["exp_annotations"]["summary"]
                    assert "{{" not in "".join(exp["exp_annotations"].values())
            silent = [g for g in gs for t in g.get("promql_expr_test", [])
                      if t["exp_samples"] == [] and "max_over_time(ALERTS" in t["expr"]]
            assert silent, (plan.name, alert.family.id)


def test_limit_join_is_proved_with_different_label_names(
        example: tuple[Path, dict[str, str]]) -> None:
    """checkout's app series carry k8s_* labels, its cAdvisor limit namespace/pod/container: the
    primary limit-ratio case fires only if the rule's label_replace join works."""
    _, files = example
    [g] = [g for g in groups(service_test(files, "go/checkout")[1])
           if g["name"] == "limit-ratio/over-ratio"]
    app = [s["series"] for s in g["input_series"] if s["series"].startswith("go_memory_used")]
    lim = [s["series"] for s in g["input_series"]
           if s["series"].startswith("container_spec_memory_limit_bytes")]
    assert app and all('k8s_pod_name="checkout-a"' in s and "pod=" not in s for s in app)
    assert lim == ['container_spec_memory_limit_bytes{container="checkout", '
                   'namespace="otel-demo", pod="checkout-a"}']
    [exp] = g["alert_rule_test"][0]["exp_alerts"]
    assert exp["exp_labels"]["k8s_pod_name"] == "checkout-a"
    assert exp["exp_annotations"]["description"].startswith(
        "Memory of checkout stayed at or above 90% of the cadvisor limit")
    names = case_names(service_test(files, "go/checkout")[1])
    assert {"limit-ratio/healthy-other-pod", "limit-ratio/healthy-limit-zero",
            "limit-forecast/healthy-other-pod", "telemetry-missing/limit-unmatched"} <= names


def test_expression_cases_of_a_family_share_a_batch(
        example: tuple[Path, dict[str, str]]) -> None:
    """checkout (cAdvisor limit joined on the pod): the cases asserted by expressions run in
    one group per family; every series and assertion of a case carries its own identity, so no
    case sees another's series or alerts."""
    _, files = example
    _, text = service_test(files, "go/checkout")
    gs = {g["name"]: g for g in groups(text)}
    batches = sorted(n for n in gs if n.endswith("/batch"))
    assert batches == ["goroutine-leak/batch", "limit-forecast/batch", "limit-ratio/batch",
                       "memory-growth/batch"]
    for name in batches:
        series = [s["series"] for s in gs[name]["input_series"]]
        assert len(series) == len(set(series))
        fam = name.split("/")[0]
        tests = gs[name]["promql_expr_test"]
        cases = {str(case_of(t["expr"])) for t in tests}
        assert len(cases) >= 3 and all(c.startswith(fam + "/") for c in cases)
        assert "alert_rule_test" not in gs[name]
        for case in cases:
            marker = f"checkout-{case.replace('/', '-')}"
            assert f"      # {case} ({marker}): " in text
            mine = [t for t in tests if t["expr"].endswith(f"# {case}")]
            assert mine and all(f'instance="{marker}"' in t["expr"] for t in mine), case
            assert all(f'instance="{marker}"' in s["labels"] and
                       f'k8s_pod_name="{marker}"' in s["labels"]
                       for t in mine for s in t["exp_samples"])
        markers = {f"checkout-{c.replace('/', '-')}" for c in cases}
        for s in gs[name]["input_series"]:  # every series belongs to exactly one case
            values = set(re.findall(r'="([^"]*)"', s["series"]))
            assert len({v.removesuffix("-other") for v in values} & markers) == 1, s
    assert "checkout-a" not in "".join(str(gs[n]) for n in batches)


def test_cases_that_cannot_be_told_apart_are_not_batched(
        example: tuple[Path, dict[str, str]]) -> None:
    """currency's selector fixes container_name, the one label its docker_stats limit joins
    on: every case would have the same series, so each stays a group of its own."""
    _, files = example
    _, text = service_test(files, "process/currency")
    gs = list(groups(text))
    assert not [g for g in gs if g["name"].endswith("/batch")]
    assert len(gs) == len(case_names(text)) > 20


def test_a_limit_join_without_a_pod_label_is_not_batched(tmp_path: Path) -> None:
    """A limit joined on namespace and container only: every case would share the limit series
    of the one container, so no case is batched."""
    text = example_slice("checkout").replace(
        "        k8s_pod_name: pod\n", "")
    assert "k8s_pod_name" not in text
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    files = compile_inventory(inv, tmp_path / "out").files
    names = [g["name"] for g in groups(service_test(files, "go/checkout")[1])]
    assert names and not [n for n in names if n.endswith("/batch")]
    assert verify_output(files) == []


# --- broken designs turn specific healthy cases red ----------------------------------------

ENDPOINTS = """  and
    [[ t ]] - [[ ago ]] > [[ grown | num ]]
  and
    [[ t ]] - [[ before ]] > [[ grown | num ]]
"""
HALVES = """  and
    [[ recent ]][[ per ]] > [[ thr | num ]]
  and
    [[ earlier ]][[ per ]] > [[ thr | num ]]
"""
DAY_AGO = """  and
    [[ t ]] - [[ t.day_ago ]] > [[ grown | num ]]
"""
GC_GATE = "[% if gcs %]"
ONE_TROUGH_A_DAY_AGO = ("""          max_over_time([[ rng(t, 3600, 86400) ]])
          or
          [[ t ]] * 0 - Inf
""", """          [[ t ]] offset 1d
          or
          [[ t ]] * 0 - Inf unless count_over_time([[ rng(t, 3600, 86400) ]])
""")
GROWTH = ("memory-growth", "goroutine-leak")
WARMUPS = {f"{f}/healthy-warmup-deploy" for f in GROWTH}
# name -> (edits of _macros.j2, the service whose proof runs, the cases that must turn red);
# an edit `(old, new, file)` edits that template instead
BROKEN: dict[str, tuple[list[tuple[str, ...]], str, set[str]]] = {
    # no endpoint conditions (the trough now above the troughs a window ago, which needs the
    # series to have existed then): a deploy's warm-up is seen by a half-empty window
    "no-endpoints": ([(ENDPOINTS, "")], "go/product-catalog",
                     WARMUPS | {"limit-forecast/healthy-warmup-deploy"}),
    # no per-half conditions: a one-off step is a rise over the whole window (and the trough
    # after it is above the troughs before it)
    "no-halves": ([(HALVES, "")], "go/product-catalog",
                  {f"{f}/healthy-step-up" for f in GROWTH}),
    # no comparison with a day ago: a daily traffic curve fires every day
    "no-day-ago": ([(DAY_AGO, "")], "go/product-catalog",
                   {"memory-growth/healthy-daily-curve-day2",
                    "memory-growth/healthy-daily-curve-dip-day2"}),
    # the day-ago comparison with the one trough at the same time yesterday (not the highest
    # of the hour up to it): a dip in yesterday's troughs passes as growth today
    "one-trough-a-day-ago": ([(*ONE_TROUGH_A_DAY_AGO, "rules.yml.j2")], "go/product-catalog",
                             {"memory-growth/healthy-daily-curve-dip-day2"}),
    # no major-collection gate: the rise within a GC cycle longer than the window is a leak
    # (a runtime that counts its major collections: V8, .NET)
    "no-gc-gate": ([(GC_GATE, "[% if false %]")], "nodejs/frontend",
                   {"memory-growth/healthy-uncollected"}),
}


@pytest.mark.promtool
@pytest.mark.slow
def test_broken_templates_turn_specific_healthy_cases_red(tmp_path: Path) -> None:
    tests = []
    for name, (edits, service, _) in BROKEN.items():
        (tmp_path / name).mkdir()
        for old, new, *where in edits:
            path = tmp_path / name / (where[0] if where else MACROS.name)
            text = path.read_text() if path.exists() else (MACROS.parent / path.name).read_text()
            assert old in text, f"{name}: {path.name} no longer has {old!r}"
            path.write_text(text.replace(old, new))
        out = tmp_path / name / "out"
        files = compile_inventory(EXAMPLE, out, templates=tmp_path / name).files
        write_tree(out, files)
        tests.append(out / service_test(files, service)[0])
    results = promtool.test_rules(promtool.find_promtool(), tests)
    got = {name: failing_groups(r) for name, r in zip(BROKEN, results, strict=True)}
    assert got == {name: expected for name, (_, _, expected) in BROKEN.items()}


# --- verify_tests: what promtool lets pass -------------------------------------------------


def test_verify_tests_catches_typo_and_missing_rule_file(
        example: tuple[Path, dict[str, str]]) -> None:
    _, files = example
    path, _ = service_test(files, "go/checkout")  # the canonical tests of its class
    text = files[path]
    own = path.rsplit("/", 1)[1].removesuffix(".yml") + ".rules.yml"
    rules = {p: t for p, t in files.items() if p.startswith("rules/") or p.endswith(".rules.yml")}
    assert verify_tests(rules, {path: text}) == []

    typo = text.replace('alertname: "MemoryLeakSuspected"', 'alertname: "MemoryLeakSuspectd"', 1)
    [msg] = verify_tests(rules, {path: typo})
    assert "'MemoryLeakSuspectd' is not an alert of" in msg and "memory-growth/" in msg

    in_expr = text.replace('alertname=\\"MemoryNearLimit\\"', 'alertname=\\"MemoryNearLimt\\"', 1)
    assert in_expr != text
    [msg] = verify_tests(rules, {path: in_expr})
    assert "'MemoryNearLimt'" in msg and "limit-ratio/" in msg

    moved = text.replace(f'"{own}"', f'"../{own}"')
    problems = verify_tests(rules, {path: moved})
    assert problems[0] == (f"{path}: rule_files entry '../{own}' resolves to "
                           f"tests/classes/{own}, which is not a generated rule file")
    assert len(problems) > 1  # and every alertname is now unknown

    assert verify_tests({}, {path: text})[0].startswith(f"{path}: rule_files entry")
    no_interval = text.replace("    interval: 1m\n", "", 1)
    [msg] = verify_tests(rules, {path: no_interval})
    assert "no interval" in msg


@pytest.mark.promtool
def test_promtool_alone_passes_what_verify_tests_catches(tmp_path: Path) -> None:
    """The reason verify_tests exists: an empty expectation on a typo'd alertname, and a rule
    file that does not exist, both pass `promtool test rules` (2.42) with exit code 0."""
    (tmp_path / "rules.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - {alert: Up, expr: 'vector(1)', for: 1m}\n")
    body = ("evaluation_interval: 1m\ntests:\n- name: t\n  interval: 1m\n  input_series: []\n"
            "  alert_rule_test:\n  - {eval_time: 5m, alertname: Upp, exp_alerts: []}\n")
    typo = tmp_path / "typo.yml"
    typo.write_text("rule_files: [rules.yml]\n" + body)
    missing = tmp_path / "missing.yml"
    missing.write_text("rule_files: [nope.yml]\n" + body.replace("Upp", "Up"))
    pt = promtool.find_promtool()
    for f in (typo, missing):
        run = promtool._run([pt.path, "test", "rules", str(f)], 60)
        assert run.code == 0, run.stdout + run.stderr
    files = {"t/typo.yml": typo.read_text(), "t/missing.yml": missing.read_text()}
    assert [p.split(":")[0] for p in verify_tests({"t/rules.yml": (tmp_path / "rules.yml")
                                                   .read_text()}, files)] == \
        ["t/missing.yml", "t/missing.yml", "t/typo.yml"]


# --- deterministic, self-describing output -------------------------------------------------


def _limit_id(rules: str) -> str | None:
    """The rulegen_limit a rule file's alerts select (None: no metric limit)."""
    m = re.search(r'rulegen_limit="([^"]+)"', rules)
    return m.group(1) if m else None


def test_generated_tests_are_deterministic(tmp_path: Path) -> None:
    a = compile_inventory(EXAMPLE, tmp_path / "a" / "rules_out").files
    b = compile_inventory(EXAMPLE, tmp_path / "b" / "rules_out").files
    tests = {p: t for p, t in a.items() if p.startswith("tests/")}
    assert tests and tests == {p: t for p, t in b.items() if p.startswith("tests/")}
    for c in read_index(tmp_path / "a" / "rules_out") or []:
        # each class's test file proves its canonical rule file beside it (rulegen/classes.py)
        text = tests[f"tests/{c.tests}"]
        head = text.splitlines()
        assert head[0].startswith("# Generated by rulegen from ") and "DO NOT EDIT" in head[0]
        assert "(service @rulegen-id-1@, line @rulegen-id-0@)" in head[0]
        doc = yaml.safe_load(text)
        own, *limit = doc["rule_files"]
        assert c.rules and own == c.rules.rsplit("/", 1)[1]
        assert a[f"tests/{c.rules}"].splitlines()[0] == head[0]
        # a metric limit's alerts read the fleet's limit file: the test loads it too
        lid = _limit_id(a[f"tests/{c.rules}"])
        assert limit == ([f"../../../rules/limits/{lid}.yml"] if lid else [])
        assert lid is None or f"rules/limits/{lid}.yml" in a
        assert doc["evaluation_interval"] == "1m"
        assert not {"fuzzy_compare", "start_timestamp"} & set(doc)
        assert all("start_timestamp" not in g for g in doc["tests"])


# --- the Prometheus template functions the expectations use ---------------------------------


@pytest.mark.parametrize(("fn", "value", "text"), [
    (humanize1024, 31457280.0, "30Mi"), (humanize1024, 6291480.0, "6Mi"),
    (humanize1024, 1.0, "1"), (humanize1024, 1536.0, "1.5ki"),
    (humanize, 300.0, "300"), (humanize, 1234567.0, "1.235M"), (humanize, 0.0166, "16.6m"),
    (humanize_percentage, 0.9, "90%"), (humanize_percentage, 1.0034, "100.3%"),
])
def test_humanize_like_prometheus(fn: Any, value: float, text: str) -> None:
    assert fn(value) == text


def test_expand_and_stable() -> None:
    labels = {"pod": "p-1"}
    assert expand('{{ $value | humanize1024 }}B/h in {{ $labels.pod }} {{ "{{" }}x}}',
                  31457280.0, labels) == "30MiB/h in p-1 {{x}}"
    assert expand("{{ $value }}", 0.1, {}) == "0.1"
    assert stable("{{ $value | humanizePercentage }}", 0.9)
    assert not stable("{{ $value | humanizePercentage }}", 0.12345)  # 12.35% or 12.34%
    with pytest.raises(Exception, match="cannot evaluate"):
        expand("{{ $value | printf \"%.1f\" }}", 1.0, {})


@pytest.mark.parametrize("matcher", [
    ("container", "!~", "|POD"), ("container", "=~", "app-.+"), ("code", "=~", "[0-9]{3}"),
    ("job", "=~", "(api|web)-x+"), ("area", "!=", "heap"), ("type", "=", "rss"),
])
def test_made_up_labels_match_the_selector(matcher: tuple[str, str, str]) -> None:
    name, op, value = matcher
    got = satisfy([matcher])[name]
    assert got and (re.fullmatch(value, got) is not None) == (op in ("=~", "="))


def test_custom_annotation_template_degrades_to_labels_only(tmp_path: Path) -> None:
    """An override template whose annotation uses a function the generator cannot evaluate
    still generates; its primary case asserts the alert's labels through ALERTS."""
    (tmp_path / "alerts").mkdir()
    src = (ROOT / "templates" / "alerts" / "memory-growth.yml.j2").read_text()
    custom = src.replace("{{ $value | humanize1024 }}B/h", '{{ printf \\"%.1f\\" $value }} B/h')
    assert custom != src
    (tmp_path / "alerts" / "memory-growth.yml.j2").write_text(custom)
    files = compile_inventory(EXAMPLE, tmp_path / "out", templates=tmp_path).files
    [g] = [g for g in groups(service_test(files, "go/checkout")[1])
           if g["name"] == "memory-growth/leak-linear"]
    assert "alert_rule_test" not in g
    [t] = g["promql_expr_test"]
    assert t["expr"].startswith('ALERTS{alertname="MemoryLeakSuspected", alertstate="firing"}')
    assert 'service="checkout"' in t["exp_samples"][0]["labels"]
    assert verify_output(files) == []


# --- where a family's cases live ------------------------------------------------------------


def test_every_family_has_a_cases_module_named_for_it() -> None:
    """rulegen/cases/<family>.py holds a family's cases; the count-leak families share
    memory_growth.py. The registry maps every family, and no family twice."""
    assert set(registry.CASES) == set(FAMILIES)
    families = [f for module in registry.MODULES for f in module.FAMILIES]
    assert len(families) == len(set(families))
    for module in registry.MODULES:
        assert Path(module.__file__).stem == module.FAMILIES[0].replace("-", "_")
    assert memory_growth.FAMILIES == ("memory-growth", "goroutine-leak", "thread-leak",
                                      "handle-leak")


MIB = 2**20


@pytest.mark.parametrize(("module", "shared"), [
    (memory_growth, lambda s: memory_growth.Growth(s)),
    (limit_ratio, lambda s: limit_ratio.Ratio(s)),
    (limit_forecast, lambda s: limit_forecast.Forecast(s)),
], ids=["memory-growth", "limit-ratio", "limit-forecast"])
def test_each_case_is_a_function_named_for_it(module: Any, shared: Any) -> None:
    """A case is found by its name: `healthy-gaps-aligned` is `healthy_gaps_aligned()`; and
    `shapes()` is the cases of `CASES` that apply, in their order, then the no-limit cases."""
    s = Settings(60, 300, 7200, 900, T=0.8 if module is limit_ratio else 10 * MIB,
                 H=14400, limit=512 * MIB, limit_source="metric", growth_T=10 * MIB,
                 memory=True, gc_cases=True, gc_gate=True)
    made = [(case.__name__, case(shared(s))) for case in module.CASES]
    assert all(sh is not None and sh.case == name.replace("_", "-") for name, sh in made)
    app = [1.0, 2.0]
    for case in no_limit.CASES:
        sh = case(s, 60, app)
        assert sh is not None and sh.case == case.__name__.replace("_", "-")
    assert [sh.case for sh in module.shapes(s)] == (
        [name.replace("_", "-") for name, _ in made]
        + [c.__name__.replace("_", "-") for c in no_limit.CASES] * (module is not memory_growth))


def test_settings_leave_out_cases_that_do_not_apply() -> None:
    """Count-leak families get no GC-cycle cases; a static limit no no-limit cases, a runtime
    limit no other pod's; a gc_period under two scrapes no sawtooth cases."""
    count = Settings(60, 300, 7200, 900, T=100.0)
    assert "leak-long-gc" not in [sh.case for sh in memory_growth.shapes(count)]
    # the major-collection cases only where the runtime counts its major collections
    heap = Settings(60, 300, 7200, 900, T=10 * MIB, memory=True, gc_cases=True)
    gated = [sh.case for sh in memory_growth.shapes(dataclasses.replace(heap, gc_gate=True))]
    assert {"leak-collected", "healthy-uncollected"} <= set(gated)
    assert set(gated) - {sh.case for sh in memory_growth.shapes(heap)} == {
        "leak-collected", "healthy-uncollected"}
    ratio = Settings(60, 300, 600, 300, T=0.8, limit=512 * MIB, limit_source="static")
    assert [sh.case for sh in limit_ratio.shapes(ratio)] == [
        "over-ratio", "over-ratio-gc", "healthy-steady-high"]
    runtime = dataclasses.replace(ratio, limit_source="runtime", S=300)
    assert [sh.case for sh in limit_ratio.shapes(runtime)] == [
        "over-ratio", "healthy-steady-high", "healthy-limit-zero", "healthy-limit-absent"]
    assert runtime.zero == -1.0 and runtime.step == 300 and runtime.up(301) == 600
