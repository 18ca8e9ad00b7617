"""Benchmark the proof cache (docs/cache.md): `rulegen check` cold, warm, and after one change.

One command: `python bench/cache.py [--sizes 25,100] [--no-baseline]`. For each size, on a
synthetic inventory (bench/make_inventory.py) and its freshly generated output, wall time of the
real CLI in a subprocess, and the CPU time it and its promtool processes used:

- without a cache (`--no-cache`, the baseline; skip it with --no-baseline),
- cold: an empty cache folder (everything proved, every pass stored),
- warm: the same output again (nothing changed: no promtool test runs),
- one threshold changed: one service's `memory-growth` threshold edited and the output
  regenerated (that service proved, the rest from the cache),

and how many services each run took from the cache and proved (from its summary line).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_inventory import inventory  # noqa: E402

WORK = HERE / "out"


def _cpu() -> float:
    """CPU seconds (user + system) of the finished child processes, promtool's included."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _rulegen(*args: str) -> tuple[str, str]:
    """(`wall (cpu)` seconds, the summary line) of a rulegen run; exits on anything but a
    pass. CPU time is the figure to compare on a busy machine: wall time there includes
    waiting for a core."""
    env = {k: v for k, v in os.environ.items() if k != "RULEGEN_CACHE_DIR"}
    cpu, start = _cpu(), time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rulegen", *args], capture_output=True, text=True,
                       timeout=7200, env=env)
    took, used = time.perf_counter() - start, _cpu() - cpu
    if p.returncode != 0:
        raise SystemExit(f"rulegen {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}")
    lines = p.stderr.strip().splitlines()
    digits = 2 if took < 10 else 1
    return f"{took:.{digits}f} ({used:.{digits}f})", lines[-1] if lines else ""


def _counts(summary: str) -> str:
    m = re.search(r"\((\d+) cached, (\d+) proved\)", summary)
    return f"{m[1]}/{m[2]}" if m else "-"


def bench(n: int, baseline: bool) -> list[str]:
    inv = WORK / f"inventory-{n}-cache.yaml"
    out = WORK / f"rules-{n}-cache"
    cache = WORK / f"cache-{n}"
    text = inventory(n, tests=True)
    inv.write_text(text)
    for old in (out, cache):
        shutil.rmtree(old, ignore_errors=True)
    _rulegen("generate", str(inv), "--out", str(out))
    check = ["check", str(inv), "--out", str(out), "--format", "json"]
    cells = [str(n)]
    if baseline:
        took, _ = _rulegen(*check, "--no-cache")
        cells.append(took)
    else:
        cells.append("not run")
    with_cache = [*check, "--cache-dir", str(cache)]
    cold, cold_summary = _rulegen(*with_cache)
    warm, warm_summary = _rulegen(*with_cache)
    changed = f"svc-{7 if n > 7 else 0:05d}"  # every 7th service has a memory-growth override
    block = text.index(f"name: {changed}")
    at = text.index("threshold: 20MiB/h", block)
    inv.write_text(text[:at] + "threshold: 24MiB/h" + text[at + len("threshold: 20MiB/h"):])
    _rulegen("generate", str(inv), "--out", str(out))
    one, one_summary = _rulegen(*with_cache, "--cache-prune")
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    entries = sum(1 for _ in cache.rglob("*.json"))
    cells += [cold, _counts(cold_summary), warm, _counts(warm_summary), one, _counts(one_summary),
              f"{entries} / {size / 1024:.0f} KB"]
    for old in (out, cache):
        shutil.rmtree(old, ignore_errors=True)
    return cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="25,100")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip the run without a cache (as long as the cold one)")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}\n")
    print("wall-clock seconds (CPU seconds of rulegen and promtool)\n")
    print("| services | no cache | cold | cached/proved | warm, unchanged | cached/proved "
          "| one threshold changed | cached/proved | entries / size after --cache-prune |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(s) for s in args.sizes.split(",") if s):
        print("| " + " | ".join(bench(n, not args.no_baseline)) + " |", flush=True)


if __name__ == "__main__":
    main()
