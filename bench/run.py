"""Benchmark `rulegen generate` (and, when asked, `rulegen check`) over growing inventories.

Run with `make bench` (or `python bench/run.py [--sizes 1000,5000,10000] [--repeat 3]`).
Prints a Markdown table: wall time of the real CLI in a subprocess (median of --repeat runs,
into an empty output directory), and the cost per service, to show the growth is linear.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_inventory import inventory  # noqa: E402

from rulegen.classes import is_test_file  # noqa: E402
from rulegen.writer import read_tree  # noqa: E402

WORK = HERE / "out"
PROMTOOL = os.environ.get("PROMTOOL", str(HERE.parent / ".tools/bin/promtool"))


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - start


def bench_generate(n: int, repeat: int, tests: bool = False,
                   where: Path = WORK) -> tuple[float, float, float]:
    """Median time into an empty output, time when nothing changed, and the floor the disk
    sets: two bare loops writing the same files into an empty directory on the same file
    system (rulegen writes from one worker per core).

    Every run writes a directory of its own, removed only when the benchmark ends: ext4 skips
    inodes freed in the last minute or so when it creates files (`recently_deleted` in
    `ext4_create`, 30% of a run's samples under perf), so deleting one run's 10,000 files
    right before the next would measure that scan rather than rulegen."""
    inv = WORK / f"inventory-{n}-{'tests' if tests else 'rules'}.yaml"
    inv.write_text(inventory(n, tests=tests))
    base = where / f"rulegen-bench-{n}-{'tests' if tests else 'rules'}"
    cold = []
    for k in range(repeat):
        os.sync()  # no write-back of the last run in this one's time
        cold.append(timed([sys.executable, "-m", "rulegen", "generate", str(inv), "--out",
                           f"{base}-{k}"]))
    os.sync()
    warm = timed([sys.executable, "-m", "rulegen", "generate", str(inv), "--out",
                  f"{base}-{repeat - 1}"])
    files = sorted(read_tree(Path(f"{base}-0")).items())
    bare = Path(f"{base}-bare")
    os.sync()
    start = time.perf_counter()
    with mp.get_context("fork").Pool(2) as pool:  # as many writers as rulegen has workers
        pool.map(_write, [(bare, files[k::2]) for k in range(2)])
    floor = time.perf_counter() - start
    return statistics.median(cold), warm, floor


def _clean(where: Path) -> None:
    for old in where.glob("rulegen-bench-*"):
        shutil.rmtree(old)


def _write(job: tuple[Path, list[tuple[str, bytes]]]) -> None:
    root, files = job
    for rel, data in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def bench_check_rules(n: int) -> tuple[float, float]:
    """rulegen check vs `promtool check rules` over an output without tests (`output: {tests:
    false}`): what rulegen adds besides the promtool tests (compile, drift, own lint)."""
    inv, out = _generated(n, "check-rules", tests=False)
    raw = timed([PROMTOOL, "check", "rules", "--lint=duplicate-rules",
                 *sorted(str(p) for p in out.glob("rules/*/*.yml"))])
    ours = _rulegen_check(inv, out)
    shutil.rmtree(out)
    return raw, ours


def _generated(n: int, name: str, tests: bool) -> tuple[Path, Path]:
    """A synthetic inventory of n services and its freshly generated output."""
    inv = WORK / f"inventory-{n}-{name}.yaml"
    inv.write_text(inventory(n, tests=tests))
    out = WORK / f"rules-{n}-{name}"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "rulegen", "generate", str(inv), "--out", str(out)],
                   check=True, capture_output=True)
    return inv, out


def _rulegen_check(inv: Path, out: Path) -> float:
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rulegen", "check", str(inv), "--out", str(out),
                        "--format", "json"], capture_output=True, timeout=7200)
    took = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"rulegen check failed: {p.stderr.decode()[-2000:]}")
    return took


def bench_check(n: int, serial: bool) -> tuple[float | None, float, float, float]:
    """rulegen check vs the raw promtool commands it wraps, on the same files: `promtool check
    rules` over all rule files, then `promtool test rules` over all test files, as one process
    each (`serial`, what one types by hand) and with the test files split over one process per
    core (what rulegen does). Returns (raw serial, raw check, raw test per core, rulegen)."""
    inv, out = _generated(n, "check", tests=True)
    rules = sorted(str(p) for p in out.glob("rules/*/*.yml"))
    tests = sorted(str(p) for p in out.glob("tests/**/*.yml")
                   if is_test_file(p.relative_to(out).as_posix()))
    raw_serial = None
    if serial:
        raw_serial = (timed([PROMTOOL, "check", "rules", *rules])
                      + timed([PROMTOOL, "test", "rules", *tests]))
    raw_check = timed([PROMTOOL, "check", "rules", *rules])
    cores = os.cpu_count() or 1
    start = time.perf_counter()
    procs = [subprocess.Popen([PROMTOOL, "test", "rules", *tests[k::cores]],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for k in range(cores)]
    if any(p.wait(timeout=7200) != 0 for p in procs):
        raise SystemExit("raw promtool test rules failed")
    raw_test = time.perf_counter() - start
    return raw_serial, raw_check, raw_test, _rulegen_check(inv, out)


def _fs_type(path: Path) -> str:
    """The file system type holding `path`, from /proc/mounts (Linux), else "unknown"."""
    try:
        mounts = [ln.split() for ln in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "unknown"
    best = max((m for m in mounts if str(path.resolve()).startswith(m[1])),
               key=lambda m: len(m[1]), default=None)
    return best[2] if best else "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,2500,5000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check-sizes", default="",
                    help="sizes to time `rulegen check` against raw promtool, e.g. 250,1000")
    ap.add_argument("--out-dirs", default=f"{WORK},/dev/shm",
                    help="where to write the rules-only outputs, comma-separated; one table "
                         "each (the file system sets a floor: see the bare-write column)")
    ap.add_argument("--check-rules-sizes", default="1000,10000",
                    help="sizes to time `rulegen check` on rules without generated tests")
    ap.add_argument("--serial-max", type=int, default=250,
                    help="largest --check-sizes entry to also time raw promtool serially "
                         "(about 2 s per service)")
    ap.add_argument("--tests-sizes", default="250,1000",
                    help="sizes to time with generated promtool tests (output: {tests: true})")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    header = ("| services | generate, empty output (s) | generate, unchanged (s) | ms per service "
              "| bare write of the same files (s) |\n|---:|---:|---:|---:|---:|")
    out_dirs = [Path(d) for d in args.out_dirs.split(",") if d and Path(d).is_dir()]
    for where in [*out_dirs, WORK]:
        _clean(where)  # leftovers of an interrupted run
    for where in out_dirs:
        print(f"\nRules only (`output: {{tests: false}}`), output under {where} "
              f"({_fs_type(where)}):\n\n{header}")
        for n in sizes:
            cold, warm, floor = bench_generate(n, args.repeat, where=where)
            print(f"| {n} | {cold:.2f} | {warm:.2f} | {1000 * cold / n:.3f} | {floor:.2f} |",
                  flush=True)
    tests_sizes = [int(s) for s in args.tests_sizes.split(",") if s]
    if tests_sizes:
        print(f"\nRules and their generated promtool tests (the default):\n\n{header}")
    for n in tests_sizes:
        cold, warm, floor = bench_generate(n, args.repeat, tests=True)
        print(f"| {n} | {cold:.2f} | {warm:.2f} | {1000 * cold / n:.3f} | {floor:.2f} |",
              flush=True)
    for where in [*out_dirs, WORK]:
        _clean(where)
    rules_sizes = [int(s) for s in args.check_rules_sizes.split(",") if s]
    if rules_sizes:
        print("\n`rulegen check` without generated tests (`output: {tests: false}`) against "
              "`promtool check rules --lint=duplicate-rules` on the same rule files:\n")
        print("| services | promtool check rules (s) | rulegen check (s) | rulegen minus promtool "
              "(s) |\n|---:|---:|---:|---:|")
    for n in rules_sizes:
        raw, ours = bench_check_rules(n)
        print(f"| {n} | {raw:.2f} | {ours:.2f} | {ours - raw:.2f} |", flush=True)
    check_sizes = [int(s) for s in args.check_sizes.split(",") if s]
    if check_sizes:
        print("\n`rulegen check` against raw `promtool check rules` + `promtool test rules` on the "
              "same output: as one process each (serial), and with the test files split over one "
              "process per core (parallel):\n")
        print("| services | raw, serial (s) | promtool check (s) | promtool test, parallel (s) "
              "| raw, parallel (s) | rulegen check (s) | overhead over raw parallel "
              "| s per service |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in check_sizes:
        serial, rc, rt, ours = bench_check(n, n <= args.serial_max)
        raw = rc + rt
        print(f"| {n} | {f'{serial:.1f}' if serial is not None else 'not run'} | {rc:.1f} "
              f"| {rt:.1f} | {raw:.1f} | {ours:.1f} | {100 * (ours - raw) / raw:+.1f}% "
              f"| {ours / n:.2f} |", flush=True)

if __name__ == "__main__":
    main()
