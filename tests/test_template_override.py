"""The worked example of docs/templates.md: a user's templates folder adds an annotation to
memory-growth; the rules carry it, and the generated promtool tests still pass with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.conftest import ROOT, example_slice

PLAYBOOK = "Take a heap profile: kubectl exec ... -- curl localhost:6060/debug/pprof/heap"


def test_custom_annotation_override(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "inventory.yaml").write_text(example_slice("checkout"))
    mine = tmp_path / "my-templates" / "alerts"
    mine.mkdir(parents=True)
    original = (ROOT / "templates/alerts/memory-growth.yml.j2").read_text()
    marker = "        annotations:\n"
    assert original.count(marker) == 1
    mine.joinpath("memory-growth.yml.j2").write_text(
        original.replace(marker, marker + f'          playbook: "{PLAYBOOK}"\n'))

    r = rulegen("generate", "inventory.yaml", "--templates", "my-templates")
    assert r.code == 0, r.stderr
    rules = yaml.safe_load((tmp_path / "rules_out/rules/go/checkout.yml").read_text())
    by_name = {rule["alert"]: rule for g in rules["groups"] for rule in g["rules"]
               if "alert" in rule}
    assert by_name["MemoryLeakSuspected"]["annotations"]["playbook"] == PLAYBOOK
    assert "playbook" not in by_name["MemoryNearLimit"]["annotations"]  # only that family

    r = rulegen("test", "inventory.yaml")
    assert r.code == 0, r.stdout + r.stderr
    assert "checkout: " in r.stdout and "passed" in r.stdout

    shutil.rmtree(tmp_path / "my-templates")  # without the override: drift, the annotation goes
    r = rulegen("check", "inventory.yaml", "--format", "json")
    assert r.code == 1 and "drift/stale" in r.stdout
