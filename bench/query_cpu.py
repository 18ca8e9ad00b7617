"""Prometheus's CPU time per instant query of expressions, side by side, on a data directory
that bench/cost.py kept (`--keep`, with `--head 2h` for a live server's head).

Run: `PYTHONPATH=. .venv/bin/python bench/query_cpu.py DATA TIME EXPRS.json [--repeat 30]
[--rounds 3] [--prometheus-bin .tools/prometheus-2.42/bin]` (a minute or two).

DATA is a kept run's `n<size>/data`, TIME the Unix time to query at (a run's end, from the
JSON report: its rules' recorded series are fresh there), EXPRS.json an object of name ->
PromQL expression. A copy of DATA is served by a Prometheus without rules or scrapes; each
expression is checked once (series returned, samples read), then measured in rounds, each
expression in turn: `repeat` queries in a row, Prometheus's CPU per query less a trivial
query's (bench/cost.py query_cpu). The least round is printed: compare expressions within one
run, as ratios, since the machine is noisy. bench/README.md ("Where the class layout's CPU
goes") has the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cost  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path)
    ap.add_argument("time", type=int)
    ap.add_argument("exprs", type=Path)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--prometheus-bin", type=Path,
                    default=cost.ROOT / ".tools/prometheus-2.42/bin")
    args = ap.parse_args()
    exprs: dict[str, str] = json.loads(args.exprs.read_text())
    with tempfile.TemporaryDirectory(prefix="rulegen-query-cpu-") as tmp:
        work = Path(tmp)
        data = work / "data"
        shutil.copytree(args.data, data, ignore=shutil.ignore_patterns("lock"))
        with cost.Prometheus(args.prometheus_bin, data, work, "query-cpu", 0, 60, 60,
                             []) as prom:
            for name, e in exprs.items():
                try:
                    r = prom.api("/api/v1/query", {"query": e, "time": str(args.time),
                                                   "stats": "all"})
                except RuntimeError as err:
                    raise SystemExit(f"{args.exprs}: {name}: {str(err)[-300:]}") from None
                print(f"{name}: {len(r['result'])} series, "
                      f"{r['stats']['samples']['totalQueryableSamples']:,} samples", flush=True)
            got: dict[str, list[float]] = {n: [] for n in exprs}
            for _ in range(args.rounds):
                for name, e in exprs.items():
                    got[name].append(1000 * cost.query_cpu(prom, e, args.time, args.repeat))
    width = max(map(len, exprs))
    for name, v in got.items():
        print(f"{name:{width}}  {min(v):6.2f} ms  (rounds: {' '.join(f'{x:.2f}' for x in v)})")


if __name__ == "__main__":
    main()
