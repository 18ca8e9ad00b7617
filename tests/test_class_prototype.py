"""bench/class_rules.py, the class-layout prototype that bench/cost.py measures: its rule files
raise what rulegen's per-service files raise on every generated case (the real promtool), so
the cost it measures is the cost of the same alerts. The default line only: bench/cost.py
measures on Prometheus 2.42, and rulegen's own rules are proved on both lines elsewhere."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rulegen import promtool
from tests.conftest import DEFAULT_LINE, ROOT, line_binary

sys.path.insert(0, str(ROOT / "bench"))

import class_rules  # noqa: E402

JOIN = ("{source: metric, metric: cadvisor, join: {k8s_namespace_name: namespace, "
        "k8s_pod_name: pod, k8s_container_name: container}}")
INVENTORY = f"""version: 1
defaults: {{owner: platform, convention: otel-semconv}}
services:
  - {{name: svc-a, runtime: go, memory_limit: {JOIN}}}
  - {{name: svc-b, runtime: nodejs, memory_limit: {JOIN}}}
  - {{name: svc-c, runtime: go, memory_limit: {JOIN}}}
  - {{name: svc-d, runtime: nodejs, memory_limit: {JOIN}}}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real CLI's rules and proof classes (go and nodejs, two services each)."""
    work = tmp_path_factory.mktemp("classes")
    (work / "inventory.yaml").write_text(INVENTORY)
    p = subprocess.run([sys.executable, "-m", "rulegen", "generate", "inventory.yaml",
                        "--out", "out"], cwd=work, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stdout + p.stderr
    return work / "out"


def as_class(canonical: Path, extra: list[str], slopes: bool, cls: str = "") -> None:
    """The canonical rule file of a proof class, rewritten in place in the class layout with
    its own service (a placeholder) and `extra` members."""
    group = yaml.safe_load(canonical.read_text())["groups"][0]
    rep = str(group["name"]).removeprefix("rulegen.")
    label = class_rules.selector_label(canonical.read_text(), rep)
    rules = class_rules.class_rules_of(rep, [rep, *extra], label, group["rules"], slopes, cls)
    canonical.write_text(yaml.safe_dump({"groups": [{"name": "c", "rules": rules}]},
                                        sort_keys=False, width=1 << 16))


def prove(out: Path, promtool_path: str) -> list[promtool.TestResult]:
    tests = sorted(p for p in out.glob("tests/classes/*/*.yml")
                   if not p.name.endswith(".rules.yml"))
    assert len(tests) == 2  # go and nodejs
    return promtool.test_rules(promtool.find_promtool(promtool_path), tests)


@pytest.mark.parametrize("slopes", [False, True], ids=["classes", "classes-slopes"])
def test_class_layout_passes_every_generated_case(generated: Path, tmp_path: Path,
                                                  slopes: bool) -> None:
    out = tmp_path / "out"
    shutil.copytree(generated, out)
    for canonical in out.glob("tests/classes/*/*.rules.yml"):
        as_class(canonical, [], slopes)
    results = prove(out, line_binary(DEFAULT_LINE, "promtool"))
    assert [r.failures for r in results] == [(), ()]
    assert all(r.ok for r in results)


def test_another_member_differs_only_by_its_missing_telemetry(generated: Path,
                                                             tmp_path: Path) -> None:
    """The control: a member the cases feed nothing to fails the cases, and only where its
    telemetry alert fires (no other alert of the class crosses over to it)."""
    promtool_path = line_binary(DEFAULT_LINE, "promtool")
    out = tmp_path / "out"
    shutil.copytree(generated, out)
    for canonical in out.glob("tests/classes/*/*.rules.yml"):
        as_class(canonical, ["svc-absent"], True)
    results = prove(out, promtool_path)
    failures = [f for r in results for f in r.failures]
    assert failures and not any(r.ok for r in results)
    # an alert test of LeakTelemetryMissing, or an expression test over its ALERTS series
    assert all(f.alertname == "LeakTelemetryMissing"
               or 'ALERTS{alertname="LeakTelemetryMissing"' in (f.expr or "") for f in failures)
    assert all('service="svc-absent"' in f.text for f in failures)


def test_classes_group_services_with_the_same_settings(generated: Path, tmp_path: Path,
                                                       ) -> None:
    promtool_path = line_binary(DEFAULT_LINE, "promtool")
    files = class_rules.write_classes(sorted((generated / "rules").rglob("*.yml")),
                                      tmp_path / "classes", slopes=True, prefix="rulegen_s")
    names = sorted(f.name for f in files)
    assert len(names) == 3 and names[0].startswith("class-go-") \
        and names[1].startswith("class-nodejs-") and names[2].startswith("limits-")
    for f in files[1:]:
        text = f.read_text()
        assert "rulegen:" not in text
        assert ("svc-a|svc-c" in text) != ("svc-b|svc-d" in text)
    checked = promtool.check_rules(promtool.find_promtool(promtool_path), [str(f) for f in files])
    assert [c.errors for c in checked] == [(), (), ()] and all(c.ok for c in checked)
