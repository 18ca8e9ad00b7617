"""Large inventories compile in parallel chunks; output and messages equal the serial path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rulegen import generate
from rulegen.errors import InventoryError
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from make_inventory import inventory  # noqa: E402

N = 1200  # above generate._PARALLEL_FROM


def compile_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    def run() -> object:
        try:
            return generate.compile_inventory(path, path.parent / "out").files
        except InventoryError as exc:
            return [str(p) for p in exc.problems]

    assert generate.split_services(path.read_text()) is not None  # really parallel
    parallel = run()
    monkeypatch.setattr(generate, "_workers", lambda: 1)
    return parallel, run()


def test_parallel_output_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False))
    parallel, serial = compile_both(inv, monkeypatch)
    assert isinstance(parallel, dict) and len(parallel) == N
    assert parallel == serial


def test_parallel_problems_equal_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = inventory(N, tests=False)
    text = text.replace("  - name: svc-01100\n", "  - name: svc-00003\n")  # across chunks
    text = text.replace("  - name: svc-00010\n", "  - name: svc-00009\n")  # within a chunk
    text = text.replace("    runtime: go\n", "    runtime: golang\n", 1)
    text = text.replace("    owner: team-7\n", "    owner: team-7\n    ownr: x\n", 1)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    parallel, serial = compile_both(inv, monkeypatch)
    assert isinstance(parallel, list) and len(parallel) == 4
    assert parallel == serial


def test_small_or_unusual_inventories_stay_serial() -> None:
    assert generate.split_services(inventory(10)) is None
    big = inventory(N)
    assert generate.split_services(big.replace("defaults:", "defaults: &d")) is None
    assert generate.split_services("---\n" + big) is None
