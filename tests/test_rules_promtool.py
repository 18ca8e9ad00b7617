"""Generated rules are valid for the real promtool, and the limit ratio really joins an
application series to a cAdvisor limit series whose label names differ.

Each test that takes `promtool_path` runs once per bootstrapped release line (2.42, 3.5; see
tests/conftest.py), and its id names the line: test_promtool_check_rules_passes[3.5].
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rulegen import promtool
from rulegen.classes import is_test_file
from rulegen.generate import compile_inventory
from tests.conftest import DEFAULT_LINE, EXAMPLE, PROMTOOL_LINES


def write(out: Path, files: dict[str, str]) -> list[Path]:
    paths = []
    for rel, text in files.items():
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def example_rules(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("out")
    files = compile_inventory(EXAMPLE, out).files
    write(out, files)
    return out, files


def test_every_example_service_has_a_rule_file(example_rules) -> None:  # type: ignore[no-untyped-def]
    _, files = example_rules
    services = {s["name"] for s in yaml.safe_load(EXAMPLE.read_text())["services"]}
    got = {Path(p).stem for p in files
           if p.startswith("rules/") and not p.startswith("rules/limits/")}
    assert got == services


def test_promtool_check_rules_passes(example_rules, promtool_path: str) -> None:  # type: ignore[no-untyped-def]
    out, files = example_rules
    rule_files = [str(out / p) for p in files if p.startswith("rules/")]
    r = subprocess.run([promtool_path, "check", "rules", "--lint=all", "--lint-fatal", *rule_files],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("SUCCESS") == len(rule_files)


def failed_cases(result: promtool.TestResult) -> list[str]:
    """The test groups (alert failures) or `# <family>/<case>` comments (expression failures)
    of a failed `promtool test rules` run, else promtool's own text."""
    names = []
    for f in result.failures:
        comment = f.expr.rpartition("# ")[2].strip() if f.expr and "# " in f.expr else None
        names.append(f.group or comment or f.text[:300])
    return names


# The default line proves the example's generated tests in tests/test_testgen.py
# (test_example_tests_pass_under_promtool, with the promtool rulegen finds: .tools/bin/, 2.42);
# this proves them on every other bootstrapped line, where the PromQL engine differs (3.x:
# left-open range selectors, other subquery and `offset` alignment).
@pytest.mark.promtool
@pytest.mark.slow
@pytest.mark.parametrize("promtool_line", [v for v in PROMTOOL_LINES if v != DEFAULT_LINE],
                         indirect=True)
def test_example_generated_tests_pass(example_rules, promtool_path: str) -> None:  # type: ignore[no-untyped-def]
    out, files = example_rules
    tests = sorted(out / p for p in files if is_test_file(p))
    assert tests
    pt = promtool.find_promtool(promtool_path)
    results = promtool.test_rules(pt, tests)
    assert {Path(r.file).relative_to(out).as_posix(): failed_cases(r)
            for r in results if not r.ok} == {}


JOIN_TEST = """
rule_files: [{rules}, {limit}]
evaluation_interval: 1m
tests:
  - name: joined across label names
    interval: 1m
    input_series:
      - series: 'go_memory_used_bytes{{service_name="checkout", go_memory_type="other", k8s_namespace_name="demo", k8s_pod_name="checkout-1", k8s_container_name="checkout"}}'
        values: '18000000x60'
      - series: 'go_memory_used_bytes{{service_name="checkout", go_memory_type="stack", k8s_namespace_name="demo", k8s_pod_name="checkout-1", k8s_container_name="checkout"}}'
        values: '0x60'
      - series: 'container_spec_memory_limit_bytes{{namespace="demo", pod="checkout-1", container="checkout", id="/kubepods/x", job="cadvisor"}}'
        values: '20000000x60'
      - series: 'container_spec_memory_limit_bytes{{namespace="demo", pod="checkout-1", container="POD", id="/kubepods/y", job="cadvisor"}}'
        values: '0x60'
    promql_expr_test:
      - expr: ALERTS{{alertname="MemoryNearLimit", alertstate="firing"}}
        eval_time: 30m
        exp_samples:
          - labels: 'ALERTS{{alertname="MemoryNearLimit", alertstate="firing", environment="demo", k8s_container_name="checkout", k8s_namespace_name="demo", k8s_pod_name="checkout-1", owner="checkout-team", service="checkout", service_name="checkout", severity="warning", tier="critical-path"}}'
            value: 1
  - name: limit of another pod never matches
    interval: 1m
    input_series:
      - series: 'go_memory_used_bytes{{service_name="checkout", go_memory_type="other", k8s_namespace_name="demo", k8s_pod_name="checkout-1", k8s_container_name="checkout"}}'
        values: '18000000x60'
      - series: 'container_spec_memory_limit_bytes{{namespace="demo", pod="checkout-2", container="checkout", job="cadvisor"}}'
        values: '20000000x60'
    promql_expr_test:
      - expr: max_over_time(ALERTS{{alertname="MemoryNearLimit"}}[1h])
        eval_time: 60m
        exp_samples: []
  - name: unlimited container (limit 0) never divides
    interval: 1m
    input_series:
      - series: 'go_memory_used_bytes{{service_name="checkout", go_memory_type="other", k8s_namespace_name="demo", k8s_pod_name="checkout-1", k8s_container_name="checkout"}}'
        values: '18000000x60'
      - series: 'container_spec_memory_limit_bytes{{namespace="demo", pod="checkout-1", container="checkout", job="cadvisor"}}'
        values: '0x60'
    promql_expr_test:
      - expr: max_over_time(ALERTS{{alertname="MemoryNearLimit"}}[1h])
        eval_time: 60m
        exp_samples: []
"""


def test_limit_ratio_joins_cadvisor_with_other_label_names(  # type: ignore[no-untyped-def]
        example_rules, promtool_path: str, tmp_path: Path) -> None:
    out, _ = example_rules
    test = tmp_path / "join_test.yml"
    # the service's rules and the fleet's cAdvisor limit they read (rules/limits/)
    [limit] = (out / "rules/limits").glob("cadvisor-*.yml")
    test.write_text(JOIN_TEST.format(rules=out / "rules/go/checkout.yml", limit=limit))
    r = subprocess.run([promtool_path, "test", "rules", str(test)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_join_test_can_fail(example_rules, promtool_path: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The join proof is not vacuous: with the app on another pod the firing case fails."""
    out, _ = example_rules
    [limit] = (out / "rules/limits").glob("cadvisor-*.yml")
    broken = JOIN_TEST.format(rules=out / "rules/go/checkout.yml", limit=limit).replace(
        'pod="checkout-1", container="checkout", id="/kubepods/x"',
        'pod="checkout-9", container="checkout", id="/kubepods/x"')
    test = tmp_path / "join_test.yml"
    test.write_text(broken)
    r = subprocess.run([promtool_path, "test", "rules", str(test)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert "MemoryNearLimit" in r.stdout + r.stderr
