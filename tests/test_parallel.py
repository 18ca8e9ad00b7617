"""Large inventories compile in parallel chunks; output and messages equal the serial path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import pytest

from rulegen import generate
from rulegen.errors import ExitCode, InventoryError, WriteFailed
from rulegen.writer import read_tree
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
    assert isinstance(parallel, dict)
    # a rule file per service, and one per limit definition (recorded for the fleet)
    assert len([p for p in parallel if not p.startswith("rules/limits/")]) == N
    assert sorted(p for p in parallel if p.startswith("rules/limits/")) == [
        "rules/limits/cadvisor-9b5d81f4.yml", "rules/limits/kube-state-metrics.yml"]
    assert parallel == serial


def test_parallel_problems_equal_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = inventory(N, tests=False)
    text = text.replace("  - name: svc-01100\n", "  - name: svc-00003\n")  # across chunks
    text = text.replace("  - name: svc-00010\n", "  - name: svc-00009\n")  # within a chunk
    text = text.replace("  - name: svc-01150\n", "  - name: SVC-00004\n")  # only case differs
    text = text.replace("    runtime: go\n", "    runtime: golang\n", 1)
    text = text.replace("    owner: team-7\n", "    owner: team-7\n    ownr: x\n", 1)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    with pytest.raises(InventoryError) as validated:  # rulegen validate: the same first pass
        generate.validate_inventory(inv)
    parallel, serial = compile_both(inv, monkeypatch)
    assert isinstance(parallel, list) and len(parallel) == 5
    assert any("'SVC-00004' differs from 'svc-00004'" in p for p in parallel)
    assert parallel == serial == [str(p) for p in validated.value.problems]


def test_small_or_unusual_inventories_stay_serial() -> None:
    assert generate.split_services(inventory(10)) is None
    big = inventory(N)
    assert generate.split_services(big.replace("defaults:", "defaults: &d")) is None
    assert generate.split_services("---\n" + big) is None


# `rulegen generate` on a large inventory: the workers write the files they rendered into the
# staging tree themselves. The tree on disk must be the serial path's, byte for byte, and every
# guarantee of the writer must hold across processes.

def generate_both(inv: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    assert generate.split_services(inv.read_text()) is not None  # really parallel
    written = generate.generate_tree(inv, out / "parallel")
    with monkeypatch.context() as m:
        m.setattr(generate, "_workers", lambda: 1)
        generate.generate_tree(inv, out / "serial")
    tree = read_tree(out / "parallel")
    assert tree == read_tree(out / "serial")
    assert (written.services, written.files, written.changed) == (N, len(tree), True)
    return tree


def test_parallel_writes_the_serial_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False, targets=("prometheus", "operator", "mimir")))
    tree = generate_both(inv, tmp_path, monkeypatch)
    assert {p.split("/")[0] for p in tree} == {"rules", "operator", "mimir"}
    # one namespace per owner, and one for the fleet's limits
    assert sum(p.startswith("mimir/") for p in tree) == 50 + 1
    assert "mimir/rulegen-limits.yml" in tree
    again = generate.generate_tree(inv, tmp_path / "parallel")
    assert not again.changed and read_tree(tmp_path / "parallel") == tree
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml", "parallel", "serial"]


def test_parallel_writes_the_fleet_limit_files_without_mimir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the mimir target the workers keep their plans: the limit files, made once in
    the parent, must still be written (they were not, from 1,000 services up)."""
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False))
    tree = generate_both(inv, tmp_path, monkeypatch)
    assert sorted(p for p in tree if p.startswith("rules/limits/")) == [
        "rules/limits/cadvisor-9b5d81f4.yml", "rules/limits/kube-state-metrics.yml"]


def test_parallel_rewrite_drops_removed_services(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N + 1, tests=False))
    out = tmp_path / "out"
    generate.generate_tree(inv, out)
    inv.write_text(inventory(N, tests=False).replace("environment: bench", "environment: prod"))
    written = generate.generate_tree(inv, out)
    assert written.changed
    tree = read_tree(out)
    services = {p: d for p, d in tree.items() if not p.startswith("rules/limits/")}
    assert f"rules/process/svc-{N:05d}.yml" not in tree and len(services) == N
    assert len(tree) == N + 2  # and the fleet's two limit files
    assert all(b'environment: "prod"' in data for data in services.values())


def test_parallel_refuses_to_overwrite_a_foreign_file(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False))
    out = tmp_path / "out"
    generate.generate_tree(inv, out)
    (out / "rules/go/svc-00006.yml").write_text("groups: []  # ours, by hand\n")
    before = read_tree(out)
    with pytest.raises(WriteFailed, match=r"did not generate: rules/go/svc-00006\.yml"):
        generate.generate_tree(inv, out)
    assert read_tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml", "out"]


def test_parallel_write_failure_leaves_output_as_it_was(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False))
    out = tmp_path / "out"
    generate.generate_tree(inv, out)
    before = read_tree(out)
    inv.write_text(inventory(N, tests=False).replace("environment: bench", "environment: prod"))
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:  # the disk fills up in a worker, mid-chunk
        if self.name == "svc-01000.yml":
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)  # the forked workers inherit it
    with pytest.raises(WriteFailed, match="No space left on device"):
        generate.generate_tree(inv, out)
    assert read_tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml", "out"]


def test_parallel_invalid_inventory_writes_nothing(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False).replace("  - name: svc-01100\n",
                                                     "  - name: svc-00003\n"))
    out = tmp_path / "not" / "yet" / "out"
    with pytest.raises(InventoryError, match="nothing was written"):
        generate.generate_tree(inv, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml"]


# An invalid large inventory is rejected by the validation pass over all chunks, before any
# worker renders a service or a staging tree is made: nothing is written, nothing is left.

def bad_at_the_end(n: int) -> tuple[str, str]:
    """A rules-only inventory of n services whose last one has a bad threshold, and where."""
    text = inventory(n, tests=False).rstrip("\n")
    assert (n - 1) % 7  # the last service has no alerts: of its own yet
    bad = "      memory-growth: {threshold: lots, for: 30m}"
    text += "\n    alerts:\n" + bad + "\n"
    return text, f"{text.count(chr(10))}:{bad.index('lots') + 1}"


def test_invalid_large_inventory_fails_fast_and_writes_nothing(  # type: ignore[no-untyped-def]
        tmp_path: Path, rulegen) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(2000, tests=False))
    assert rulegen("generate", "inventory.yaml").code == 0
    before = read_tree(tmp_path / "rules_out")
    text, where = bad_at_the_end(2000)
    inv.write_text(text)
    r = rulegen("generate", "inventory.yaml")
    assert r.code == ExitCode.BAD_INPUT, r.stderr
    assert r.stderr.splitlines()[0].startswith(f"inventory.yaml:{where}: threshold: 'lots' ")
    assert "nothing was written" in r.stderr
    assert read_tree(tmp_path / "rules_out") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml", "rules_out"]


def test_invalid_large_inventory_is_never_rendered(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    inv = tmp_path / "inventory.yaml"
    text, where = bad_at_the_end(2000)
    inv.write_text(text)

    def never(*args: object) -> NoReturn:  # the forked workers inherit it
        raise AssertionError("an invalid inventory was rendered or staged")

    monkeypatch.setattr(generate._Job, "render", never)
    monkeypatch.setattr(generate, "Staging", never)
    with pytest.raises(InventoryError) as caught:
        generate.generate_tree(inv, tmp_path / "out")
    assert [f"{p.line}:{p.col}" for p in caught.value.problems] == [where]
    assert [p.name for p in tmp_path.iterdir()] == ["inventory.yaml"]


def test_a_failing_worker_leaves_nothing_behind(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory(N, tests=False))
    out = tmp_path / "out"
    generate.generate_tree(inv, out)
    before = read_tree(out)
    inv.write_text(inventory(N, tests=False).replace("environment: bench", "environment: prod"))
    real = generate._Job.render

    def render(self: generate._Job, loaded: object, classes: list[object]) -> object:
        for rel, text in real(self, loaded, classes):  # type: ignore[arg-type]
            if "svc-01000" in rel:
                raise KeyError("a bug")
            yield rel, text

    monkeypatch.setattr(generate._Job, "render", render)
    with pytest.raises(RuntimeError, match="KeyError: 'a bug'"):
        generate.generate_tree(inv, out)
    assert read_tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml", "out"]
