"""Benchmark `rulegen generate` (and, when asked, `rulegen check`) over growing inventories.

Run with `make bench` (or `python bench/run.py [--sizes 1000,5000,10000] [--repeat 3]`).
Prints a Markdown table: wall time of the real CLI in a subprocess (median of --repeat runs,
into an empty output directory), and the cost per service, to show the growth is linear.
"""

from __future__ import annotations

import argparse
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

WORK = HERE / "out"


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - start


def bench_generate(n: int, repeat: int, tests: bool = False) -> tuple[float, float]:
    inv = WORK / f"inventory-{n}-{'tests' if tests else 'rules'}.yaml"
    inv.write_text(inventory(n, tests=tests))
    out = WORK / f"rules-{n}-{'tests' if tests else 'rules'}"
    cold = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        cold.append(timed([sys.executable, "-m", "rulegen", "generate", str(inv), "--out",
                           str(out)]))
    warm = timed([sys.executable, "-m", "rulegen", "generate", str(inv), "--out", str(out)])
    return statistics.median(cold), warm


def bench_check(n: int) -> tuple[float, float, float]:
    """rulegen check vs the raw promtool commands it wraps, on the same files."""
    inv = WORK / f"inventory-{n}-check.yaml"
    inv.write_text(inventory(n, tests=True))
    out = WORK / f"rules-{n}-check"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "rulegen", "generate", str(inv), "--out", str(out)],
                   check=True, capture_output=True)
    promtool = os.environ.get("PROMTOOL", str(HERE.parent / ".tools/bin/promtool"))
    rules = sorted(str(p) for p in out.glob("rules/*/*.yml"))
    tests = sorted(str(p) for p in out.glob("tests/*/*.yml"))
    raw_check = timed([promtool, "check", "rules", *rules])
    raw_test = timed([promtool, "test", "rules", *tests])
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rulegen", "check", str(inv), "--out", str(out),
                        "--format", "json"], capture_output=True, timeout=3600)
    ours = time.perf_counter() - start
    if p.returncode != 0:
        raise SystemExit(f"rulegen check failed: {p.stderr.decode()[-2000:]}")
    return raw_check, raw_test, ours


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,2500,5000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check-sizes", default="",
                    help="sizes to time `rulegen check` against raw promtool, e.g. 250,1000")
    ap.add_argument("--tests-sizes", default="250,1000",
                    help="sizes to time with generated promtool tests (output: {tests: true})")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}")
    print("\nRules only (`output: {tests: false}`):\n")
    print("| services | generate, empty output (s) | generate, unchanged (s) | ms per service |")
    print("|---:|---:|---:|---:|")
    for n in sizes:
        cold, warm = bench_generate(n, args.repeat)
        print(f"| {n} | {cold:.2f} | {warm:.2f} | {1000 * cold / n:.3f} |", flush=True)
    print("\nRules and their generated promtool tests (the default):\n")
    print("| services | generate, empty output (s) | generate, unchanged (s) | ms per service |")
    print("|---:|---:|---:|---:|")
    for n in [int(s) for s in args.tests_sizes.split(",") if s]:
        cold, warm = bench_generate(n, args.repeat, tests=True)
        print(f"| {n} | {cold:.2f} | {warm:.2f} | {1000 * cold / n:.3f} |", flush=True)
    check_sizes = [int(s) for s in args.check_sizes.split(",") if s]
    if check_sizes:
        print("\n`rulegen check` against raw `promtool check rules` + `promtool test rules` "
              "(one process each, all files) on the same output:\n")
        print("| services | promtool check (s) | promtool test (s) | raw total (s) "
              "| rulegen check (s) | overhead |")
        print("|---:|---:|---:|---:|---:|---:|")
    for n in check_sizes:
        rc, rt, ours = bench_check(n)
        raw = rc + rt
        print(f"| {n} | {rc:.1f} | {rt:.1f} | {raw:.1f} | {ours:.1f} | "
              f"{100 * (ours - raw) / raw:+.0f}% |", flush=True)


if __name__ == "__main__":
    main()
