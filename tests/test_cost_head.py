"""bench/cost.py --head: the newest part of the backfilled history goes into Prometheus's head
by remote write (a hand-encoded WriteRequest in a literal-only snappy block) instead of into
blocks. Shown with the real Prometheus of each line: split_head keeps the older samples in the
OpenMetrics file and returns the newer; catch_up writes them; the server then returns every
sample, with its labels (escaped values included) and value, and holds them in its head."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import cost  # noqa: E402

# a whole minute an hour ago, in seconds (Prometheus 3.x refuses samples from the future)
END = int(time.time()) // 60 * 60 - 3600
QUOTED = 'a "quoted" \\ value'


def om_history(path: Path) -> None:
    lines = ["# TYPE m gauge\n"]
    for k in range(40):  # 40 minutes: 1 .. 40 ending at END
        t = END - (39 - k) * 60
        lines.append(f'm{{job="j1",note="{cost._escape(QUOTED)}"}} {k}.5 {t}\n')
        lines.append(f'm{{job="j2"}} {-k} {t}\n')
    path.write_text("".join(lines) + "# EOF\n")


def test_head_gets_the_newest_samples_by_remote_write(tmp_path: Path,
                                                       prometheus_path: str) -> None:
    om = tmp_path / "history.om"
    om_history(om)
    head = cost.split_head(om, END - 15 * 60)
    assert sorted(head) == [END - k * 60 for k in range(14, -1, -1)]  # the newest 15 minutes
    kept = [ln for ln in om.read_text().splitlines() if not ln.startswith("#")]
    assert len(kept) == 2 * 25 and all(int(ln.rsplit(" ", 1)[1]) <= END - 15 * 60 for ln in kept)
    assert om.read_text().endswith("# EOF\n")

    data = tmp_path / "data"
    data.mkdir()
    took = cost.catch_up(head, END, lambda: cost.Prometheus(
        Path(prometheus_path).parent, data, tmp_path, "head", 0, 60, 60, [],
        ["--web.enable-remote-write-receiver"]), step=300)
    assert took > 0
    # a second server on the same data directory: the samples came back from its WAL
    with cost.Prometheus(Path(prometheus_path).parent, data, tmp_path, "read", 0, 60, 60,
                         []) as prom:
        got = prom.api("/api/v1/query_range", {"query": "m", "start": str(END - 3600),
                                               "end": str(END), "step": "60"})
        series = {tuple(sorted(r["metric"].items())): r["values"] for r in got["result"]}
        assert set(series) == {
            (("__name__", "m"), ("job", "j1"), ("note", QUOTED)),
            (("__name__", "m"), ("job", "j2"))}
        j1 = series[("__name__", "m"), ("job", "j1"), ("note", QUOTED)]
        # the query steps every minute; lookback fills nothing before the first head sample
        assert [(int(t), float(v)) for t, v in j1] == [
            (END - k * 60, 39 - k + 0.5) for k in range(14, -1, -1)]
        hs = prom.api("/api/v1/status/tsdb")["headStats"]
        assert hs["minTime"] == (END - 14 * 60) * 1000 and hs["maxTime"] == END * 1000
