"""Bounded work on large and hostile inventories: time and peak memory of the real CLI.

Run with `python bench/hostile.py [--mib 1,20]`. For each case it runs `rulegen validate` and
`rulegen generate` in a subprocess and prints a Markdown table: exit code, wall time, peak RSS,
and whether a staging folder was left behind. The cases:

- `valid N MiB`: a synthetic inventory (bench/make_inventory.py) of about N MiB;
- `error at end N MiB`: the same with one bad value in its last service;
- `alias bomb`: 9 levels of 9 aliases used as `services:` (a "billion laughs");
- `huge window`: a 30d window at a 1s scrape interval (2.6 million samples per window).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_inventory import inventory  # noqa: E402

WORK = HERE / "out" / "hostile"
BYTES_PER_SERVICE = len(inventory(1000)) / 1000


def sized(mib: float) -> str:
    return inventory(int(mib * 2**20 / BYTES_PER_SERVICE))


def error_at_end(mib: float) -> str:
    text = sized(mib).rstrip("\n")
    return text + "\n    scrape_interval: 12:30\n"


def bomb() -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(["x-bomb:", *("  " + ln for ln in lines), "services: *a9", ""])


HUGE_WINDOW = """version: 1
defaults: {owner: platform}
services:
  - name: checkout
    runtime: go
    scrape_interval: 1s
    alerts:
      memory-growth: {window: 30d}
"""


def measure(args: list[str], cwd: Path) -> tuple[int, float, float]:
    """Exit code, wall seconds and peak RSS (MiB) of one run of the real CLI. The RSS is GNU
    time's: a child forked from this process would count this process's pages too."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "rulegen", *args],
                          cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    return proc.returncode, wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", default="1,20", help="inventory sizes in MiB")
    ap.add_argument("--generate-valid-max", type=float, default=1, help=(
        "largest valid inventory (MiB) to also generate: 20 MiB is ~90,000 services with tests"))
    opts = ap.parse_args()
    cases = []
    for mib in (float(m) for m in opts.mib.split(",") if m):
        cases += [(f"valid {mib:g} MiB", sized(mib)), (f"error at end {mib:g} MiB",
                                                       error_at_end(mib))]
    cases += [("alias bomb", bomb()), ("huge window", HUGE_WINDOW)]
    print("| case | size | command | exit | wall (s) | peak RSS (MiB) | staging left |")
    print("|---|---:|---|---:|---:|---:|---|")
    for name, text in cases:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        (WORK / "inventory.yaml").write_text(text)
        commands = [["validate", "inventory.yaml"]]
        if not (name.startswith("valid ") and len(text) > opts.generate_valid_max * 2**20):
            commands.append(["generate", "inventory.yaml", "--out", "rules_out"])
        for cmd in commands:
            code, wall, rss = measure(cmd, WORK)
            left = sorted(p.name for p in WORK.iterdir() if p.name.startswith(".")) or "none"
            print(f"| {name} | {len(text) / 2**20:.1f} MiB | {cmd[0]} | {code} | {wall:.2f} "
                  f"| {rss:.0f} | {left} |", flush=True)


if __name__ == "__main__":
    main()
