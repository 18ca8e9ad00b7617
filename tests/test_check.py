"""`rulegen check` on a clone of the example: a clean tree passes; each kind of breakage fails
with a message naming the cause and the fix. Every report format of a passing run, a failing
run and an invalid inventory: tests/test_reporting_ci.py."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from rulegen.classes import read_index
from rulegen.errors import ExitCode
from tests.conftest import EXAMPLE, ROOT, example_slice

# Most cases run on a slice of the example (three services, every kind of limit join) to keep
# the suite fast: each `rulegen check` runs all generated promtool tests.
SLICE = ("checkout", "recommendation", "shipping")


@pytest.fixture
def clone(tmp_path: Path, rulegen) -> Path:  # type: ignore[no-untyped-def]
    (tmp_path / "inventory.yaml").write_text(example_slice(*SLICE))
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    r = rulegen("generate", "inventory.yaml", "--templates", "templates")
    assert r.code == 0, r.stderr
    return tmp_path


def check(rulegen, *args: str):  # type: ignore[no-untyped-def]
    return rulegen("check", "inventory.yaml", "--templates", "templates", "--format", "json",
                   *args)


def findings(r) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def test_clean_full_example_passes(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    assert rulegen("generate", "inventory.yaml").code == 0
    r = rulegen("check", "inventory.yaml", "--format", "json")
    assert r.code == ExitCode.OK, r.stdout + r.stderr
    assert [f for f in findings(r) if f["severity"] == "error"] == []


def test_clean_tree_passes(clone: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    assert [ln.split()[2] for ln in (clone / "inventory.yaml").read_text().splitlines()
            if ln.startswith("  - name: ")] == list(SLICE)
    r = check(rulegen)
    assert r.code == ExitCode.OK, r.stdout + r.stderr
    assert [f for f in findings(r) if f["severity"] == "error"] == []
    assert re.search(r"^rulegen check: 3 services in 3 classes, \d+ cases, promtool [\d.]+; "
                     r".*: passed$",
                     r.stderr, re.M), r.stderr


def test_hand_edited_rule_file(clone: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    f = clone / "rules_out/rules/go/checkout.yml"
    f.write_text(f.read_text().replace("for: 15m", "for: 1m", 1))
    r = check(rulegen)
    assert r.code == ExitCode.FINDINGS
    [d] = [x for x in findings(r) if x["check"].startswith("drift/")]
    assert d["check"] == "drift/stale" and d["path"].endswith("rules/go/checkout.yml")
    assert "rulegen generate inventory.yaml --out rules_out" in d["message"]
    # and its proof class's tests do not cover the edited file (docs/classes.md)
    [c] = [x for x in findings(r) if x["check"] == "prove/classes"]
    assert "rules/go/checkout.yml is not its class's canonical form" in c["message"]


def test_service_removed_without_regenerating(clone: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    inv = clone / "inventory.yaml"
    text = inv.read_text()
    inv.write_text(text[:text.index("  - name: shipping")])
    [shipping] = [c for c in read_index(clone / "rules_out") or []
                  if c.services == ("process/shipping",)]  # a class of its own here
    r = check(rulegen)
    assert r.code == ExitCode.FINDINGS
    extra = {x["path"].split("rules_out/")[1] for x in findings(r) if x["check"] == "drift/extra"}
    # shipping is the only otel-demo-owned service of the slice: its mimir namespace goes too;
    # and the only one left with a docker-stats limit: the fleet's limit file of it goes too;
    # and the only one of its proof class: the class's canonical rule file and tests go too
    assert extra == {"rules/process/shipping.yml", f"tests/{shipping.rules}",
                     f"tests/{shipping.tests}",
                     "operator/process/shipping.yaml", "mimir/otel-demo.yml",
                     "rules/limits/docker-stats.yml", "operator/limits/docker-stats.yaml"}
    assert all("rulegen generate" in x["message"] for x in findings(r)
               if x["check"] == "drift/extra")


def test_template_broken_so_alert_stops_firing(clone: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    t = clone / "templates/alerts/limit-ratio.yml.j2"
    text = t.read_text()
    broken = text.replace("> [[ alert.threshold | num ]]", "> 2 * [[ alert.threshold | num ]]")
    assert broken != text
    t.write_text(broken)
    assert rulegen("generate", "inventory.yaml", "--templates", "templates").code == 0
    r = check(rulegen)
    assert r.code == ExitCode.FINDINGS
    failed = [x for x in findings(r) if x["check"] == "promtool/test"]
    assert failed and all("MemoryNearLimit" in x["message"] for x in failed)


def test_ratio_without_guard(clone: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    hand = clone / "hand-written.yml"
    hand.write_text("""groups:
  - name: hand
    rules:
      - alert: RssHigh
        expr: process_resident_memory_bytes / container_spec_memory_limit_bytes > 0.9
        for: 5m
        labels: {severity: warning, owner: me, service: x}
        annotations: {summary: s, description: d, runbook_url: r}
""")
    r = check(rulegen, "hand-written.yml")
    assert r.code == ExitCode.FINDINGS
    [g] = [x for x in findings(r) if x["check"] == "promql/division-guard"]
    assert g["path"] == "hand-written.yml" and g["line"] == 5


def test_github_format_is_automatic_under_actions(clone: Path, rulegen, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    f = clone / "rules_out/rules/go/checkout.yml"
    f.write_text(f.read_text() + "\n")
    r = rulegen("check", "inventory.yaml", "--templates", "templates")
    assert r.stdout.startswith("::error file=")


def test_fail_on_warning(clone: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    inv = clone / "inventory.yaml"
    inv.write_text(inv.read_text().replace(
        "    runbook: https://runbooks.example.com/memory-leaks\n", ""))
    assert rulegen("generate", "inventory.yaml", "--templates", "templates").code == 0
    assert check(rulegen).code == ExitCode.OK  # runbook missing is a warning
    r = check(rulegen, "--fail-on", "warning")
    assert r.code == ExitCode.FINDINGS
    assert any(x["check"] == "alerts/runbook" for x in findings(r))


def test_inventory_without_tests_checks_rules_only(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    """`output: {tests: false}` (the fleet-scale setting) is a clean tree too: promtool checks
    the rules and nothing reports the absent test files as untested."""
    text = example_slice(*SLICE).replace("output:\n", "output:\n  tests: false\n", 1)
    (tmp_path / "inventory.yaml").write_text(text)
    assert rulegen("generate", "inventory.yaml").code == 0
    assert not (tmp_path / "rules_out" / "tests").exists()
    r = rulegen("check", "inventory.yaml", "--format", "json")
    assert r.code == ExitCode.OK, r.stdout + r.stderr
    assert findings(r) == []
    t = rulegen("test", "inventory.yaml")
    assert t.code == ExitCode.OK, t.stdout + t.stderr
    assert "checkout: promtool check rules ok; no generated tests" in t.stdout
    (tmp_path / "rules_out/rules/go/checkout.yml").write_text("groups: [\n")  # still checked
    r = rulegen("check", "inventory.yaml", "--format", "json")
    assert r.code == ExitCode.FINDINGS
    assert {f["check"] for f in findings(r)} >= {"drift/stale", "promtool/check"}
