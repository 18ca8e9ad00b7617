"""What the generated rules cost a real Prometheus, beside the seed article's naive rules.

Run: `PYTHONPATH=. .venv/bin/python bench/cost.py [--sizes 50,200] [--big 1000]
[--prometheus-bin .tools/prometheus-2.42/bin] [--minutes 2] [--eval-interval 1m]
[--classes] [--head 2h] [--skip RULESET] [--pprof DIR] [--json PATH]` (about 16 minutes with
the defaults on 2 cores; bench/README.md has the figures).

For each fleet size N:

1. A fleet of N services, alternating go and nodejs (convention otel-semconv), one pod each:
   a GC sawtooth with noise per memory series (and V8's major/minor collection counters), a
   few services leaking memory or goroutines, and
   cAdvisor's container_spec_memory_limit_bytes for every pod (the container, the POD sandbox
   at 0 and the pod cgroup, as the kubelet exposes them). Its inventory goes through the real
   CLI, `python -m rulegen generate <inventory> --out <dir>` (rules only), run from a snapshot
   of rulegen/ and templates/ taken at start (or --rulegen-src); every *.yml under
   <dir>/rules/ is loaded.
2. --history (26h) of 1-minute samples ending now, written as OpenMetrics and backfilled with
   `promtool tsdb create-blocks-from openmetrics` into a fresh data directory (18h blocks, which
   Prometheus leaves alone: no compaction runs while measuring). From then on an HTTP exporter
   thread in this process serves the current values of the same series, and Prometheus scrapes
   it (honor_labels, so job/instance come from the exposition and match the backfilled series).
3. Recording rules in the generated set (record: rulegen:...) read their own history, so it is
   backfilled too, level by level (a rule reading another's output after it), from a staging
   copy of the raw history: by default each rule is evaluated over the history by one range
   query at its group's interval and the result imported with the raw history in one
   create-blocks-from openmetrics (no two blocks overlap); with --rules-backfill promtool,
   `promtool tsdb create-blocks-from rules` writes one block per rule and block range, which
   Prometheus must compact before anything is measured (minutes for a few hundred services).
   By default every sample older than the runs is in a block. A live server holds its newest
   2-3 hours in memory (the head) and reads them faster than a block: with --head 2h the
   newest 2 hours of raw and recorded history are left out of the blocks and written into the
   head instead, oldest first, by remote write (Prometheus's --web.enable-remote-write-receiver,
   a Prometheus without rules or scrapes); its WAL keeps them for every run.
4. Three runs on the same data directory, one Prometheus at a time: the generated rules first
   (their recorded series go on from the backfilled history without a gap), the seed rules
   (bench/seed_rules.yml, its interval set to --eval-interval), no rules (idle). Each run waits
   until every group has been evaluated once, then measures for --minutes, in slices of a
   whole number of evaluation intervals, scrapes and 2-minute forced-GC periods of the Go
   runtime: CPU time of every Prometheus thread (/proc/<pid>/task/*/schedstat), evaluation
   iterations, missed iterations and the summed group evaluation time (from its /metrics).
   After the window every rule's expression goes through /api/v1/query with stats=all at the
   window's end: samples per cycle = the sum of totalQueryableSamples; query time = the sum of
   evalTotalTime (the least of 3 runs); query CPU = the sum of Prometheus's CPU time per query
   of each expression (--query-cpu 20 queries in a row, less a trivial query's): unlike the
   net CPU, it does not depend on the idle run, and unlike evalTotalTime it counts the series
   selection, the parse and the garbage collection a query causes.

A cycle is one global evaluation interval; a group with a longer interval counts pro rata.
Net CPU per cycle = (CPU of the run - the idle run's CPU rate x the same time) / cycles, where
cycles = the evaluations done per group in the window (so missed iterations do not make a
cycle look cheaper). The idle run is the baseline of the scrape, the TSDB and the Go runtime.
Group evaluation and query times are wall-clock: on a busy machine they grow, CPU time less.

`--big 1000` then runs the generated rules (with `--classes` the class layouts too, less any
`--skip`) at 1,000 services, without an idle or seed run: missed iterations and group
evaluation times.

`--classes` adds four rule sets after the generated one: rulegen's own class layout (the same
fleet with `output.layout: classes`: one rule file per class of services with identical
settings, docs/classes.md), and a prototype made from the generated files by
bench/class_rules.py that also records the slopes (`classes-slopes`), measured the same way on
the same data; and `classes-4m` and `classes-8m`, the class layout with
`evaluation_interval: 4m` and `8m` (docs/families.md, "Evaluation interval"): its groups, and
the fleet limit's, run every 4 (8) minutes. Their recorded series have names of their own
(`rulegen_c:`, `rulegen_s:`, `rulegen_c4:`, `rulegen_c8:`) and are backfilled like the
generated ones (at their groups' intervals). The report compares the alerts each raised with
the generated rules'.

`--skip RULESET` (repeatable) leaves a rule set out of the measured runs, and `--pprof DIR`
saves Prometheus's CPU profile of each measured window (`go tool pprof -top FILE`): e.g.
`--sizes 200 --classes --skip generated --skip classes-slopes --skip seed --skip idle
--minutes 10 --pprof DIR` profiles the class layout alone over 10 minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import itertools
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from class_rules import write_classes, write_renamed  # noqa: E402

SEED = HERE / "seed_rules.yml"
MIB = 1024 * 1024
HOUR = 3600
JOIN = ("{source: metric, metric: cadvisor, join: {k8s_namespace_name: namespace, "
        "k8s_pod_name: pod, k8s_container_name: container}}")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def seconds(text: str) -> int:
    """'90s', '1m', '26h', '1h30m' -> seconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return round(sum(int(n) * unit[u] for n, u in parts))


def dur(s: float) -> str:
    s = int(s)
    return f"{s // 60}m" if s % 60 == 0 else f"{s}s"


# --------------------------------------------------------------------------- the fleet


def _unit(seed: int, t: float) -> float:
    """Deterministic noise in [0, 1) for a series at time t (constant within 15 s, so a scrape
    and the backfilled history agree)."""
    x = (seed * 0x9E3779B1 + (int(t) // 15) * 0x85EBCA77) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 12
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    x ^= x >> 15
    return x / 4294967296.0


@dataclass(frozen=True)
class Wave:
    """base + a GC sawtooth (rises by amp over period, then drops) + a linear leak from
    leak_start + uniform noise of +-noise."""

    base: float
    amp: float = 0.0
    period: float = 300.0
    phase: float = 0.0
    leak: float = 0.0  # per second
    leak_start: float = 0.0
    noise: float = 0.0
    seed: int = 0

    def at(self, t: float) -> float:
        v = self.base
        if self.amp:
            v += self.amp * (((t + self.phase) / self.period) % 1.0)
        if self.leak and t > self.leak_start:
            v += self.leak * (t - self.leak_start)
        if self.noise:
            v += self.noise * (2.0 * _unit(self.seed, t) - 1.0)
        return v


@dataclass(frozen=True)
class Series:
    name: str
    labels: str  # rendered {a="b",...}
    waves: tuple[Wave, ...]

    def at(self, t: float) -> int:
        return max(0, round(sum(w.at(t) for w in self.waves)))


def _labels(**kv: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(kv.items()) if v != "") + "}"


def _token(seed: str, n: int) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    out = ""
    for _ in range(n):
        h, r = divmod(h, len(alphabet))
        out += alphabet[r]
    return out


@dataclass
class Fleet:
    """N services alternating go and nodejs, leaks on a few, history ending at t_end."""

    n: int
    t_end: int
    series: list[Series] = field(default_factory=list)
    leaking: dict[str, str] = field(default_factory=dict)  # service -> what leaks

    def __post_init__(self) -> None:
        for i in range(self.n):
            self._service(i)
        self.series.sort(key=lambda s: s.name)  # one metric family after another

    @staticmethod
    def runtime(i: int) -> str:
        return "go" if i % 2 == 0 else "nodejs"

    @staticmethod
    def name(i: int) -> str:
        return f"svc-{i:04d}"

    def _service(self, i: int) -> None:
        import random

        rnd = random.Random(i)
        svc, rt = self.name(i), self.runtime(i)
        ns = f"team-{i % 12:02d}"
        pod = f"{svc}-{_token(svc + 'rs', 10)}-{_token(svc + 'pod', 5)}"
        app = {"job": svc, "instance": f"10.1.{i // 250}.{i % 250 + 2}:9464",
               "k8s_namespace_name": ns, "k8s_pod_name": pod, "k8s_container_name": svc}
        limit = rnd.choice([512, 768, 1024]) * MIB
        seed = i * 16

        def wave(k: int, **kw: Any) -> Wave:
            return Wave(seed=seed + k, phase=rnd.uniform(0, 3600), **kw)

        leak = leak_start = 0.0
        if i % 10 == 3:  # a memory leak of 12-40 MiB/h, for the last 4-10 h
            rate = rnd.uniform(12, 40) * MIB / HOUR
            hours = min(rnd.uniform(4, 10), 0.3 * limit / (rate * HOUR))
            leak, leak_start = rate, self.t_end - hours * HOUR
            self.leaking[svc] = f"memory {rate * HOUR / MIB:.0f} MiB/h for {hours:.1f} h"
        heap_base = rnd.uniform(0.10, 0.25) * limit
        heap = wave(0, base=heap_base, amp=rnd.uniform(0.3, 0.8) * heap_base,
                    period=rnd.uniform(120, 420), leak=leak, leak_start=leak_start,
                    noise=0.02 * heap_base)
        if rt == "go":
            gr_leak = gr_start = 0.0
            if i % 20 == 6:  # a goroutine leak of 150-400 per hour, for the last 8 h
                gr_leak, gr_start = rnd.uniform(150, 400) / HOUR, self.t_end - 8 * HOUR
                self.leaking[svc] = (self.leaking.get(svc, "") + " goroutines").strip()
            gr_base = rnd.uniform(30, 400)
            self.series += [
                Series("go_memory_used_bytes", _labels(**app, go_memory_type="other"), (heap,)),
                Series("go_memory_used_bytes", _labels(**app, go_memory_type="stack"),
                       (wave(1, base=gr_base * 8192, noise=256 * 1024),)),
                Series("go_goroutine_count", _labels(**app),
                       (wave(2, base=gr_base, noise=0.05 * gr_base, leak=gr_leak,
                             leak_start=gr_start),)),
            ]
        else:
            spaces = {
                "old_space": heap,
                "new_space": wave(3, base=1 * MIB, amp=15 * MIB, period=rnd.uniform(20, 70)),
                "code_space": wave(4, base=rnd.uniform(2, 6) * MIB, noise=64 * 1024),
                "large_object_space": wave(5, base=rnd.uniform(1, 20) * MIB, noise=MIB),
            }
            self.series += [
                Series("v8js_memory_heap_used_bytes", _labels(**app, v8js_heap_space_name=k), (w,))
                for k, w in spaces.items()
            ]
            # the GC counters (the growth alert's major-collection gate reads the major one):
            # a major collection per old-space cycle, a minor one per new-space cycle
            self.series += [
                Series("v8js_gc_duration_seconds_count", _labels(**app, v8js_gc_type=k),
                       (Wave(base=0, leak=1 / spaces[space].period),))
                for k, space in (("major", "old_space"), ("minor", "new_space"))
            ]
            self.series.append(Series(
                "process_memory_usage_bytes", _labels(**app),
                (*spaces.values(), wave(6, base=rnd.uniform(40, 80) * MIB, noise=2 * MIB))))
        uid = _token(svc + "uid", 24)
        cad = {"job": "kubelet", "metrics_path": "/metrics/cadvisor",
               "instance": f"node-{i % 20:02d}", "namespace": ns, "pod": pod}
        self.series += [
            Series("container_spec_memory_limit_bytes",
                   _labels(**cad, container=svc, image=f"registry.example.com/{svc}:1.4.2",
                           id=f"/kubepods/burstable/pod{uid}/{_token(svc + 'c', 40)}"),
                   (Wave(base=limit),)),
            Series("container_spec_memory_limit_bytes",
                   _labels(**cad, container="POD", image="registry.k8s.io/pause:3.9",
                           id=f"/kubepods/burstable/pod{uid}/{_token(svc + 'p', 40)}"),
                   (Wave(base=0),)),
            Series("container_spec_memory_limit_bytes",  # the pod cgroup: no container label
                   _labels(**cad, id=f"/kubepods/burstable/pod{uid}"), (Wave(base=limit),)),
        ]

    def inventory(self) -> str:
        lines = ["version: 1", "output: {tests: false}", "defaults:", "  owner: platform",
                 "  convention: otel-semconv", "services:"]
        for i in range(self.n):
            lines += [f"  - name: {self.name(i)}", f"    runtime: {self.runtime(i)}",
                      f"    memory_limit: {JOIN}"]
        return "\n".join(lines) + "\n"

    def exposition(self, t: float) -> bytes:
        out: list[str] = []
        last = ""
        for s in self.series:
            if s.name != last:
                out.append(f"# TYPE {s.name} gauge\n")
                last = s.name
            out.append(f"{s.name}{s.labels} {s.at(t)}\n")
        return "".join(out).encode()

    def write_openmetrics(self, path: Path, start: int, step: int) -> int:
        """Samples from start to t_end every step, one series after another; returns the
        number of samples."""
        times = range(start, self.t_end + 1, step)
        last = ""
        with path.open("w", buffering=1 << 20) as f:
            for s in self.series:
                if s.name != last:
                    f.write(f"# TYPE {s.name} gauge\n")
                    last = s.name
                prefix = s.name + s.labels
                f.write("".join(f"{prefix} {s.at(t)} {t}\n" for t in times))
            f.write("# EOF\n")
        return len(self.series) * len(times)


class Exporter:
    """Serves the fleet's current values on 127.0.0.1 (a random free port)."""

    def __init__(self) -> None:
        self.fleet: Fleet | None = None
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = exporter.fleet.exposition(time.time()) if exporter.fleet else b""
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- rule files


@dataclass
class Rule:
    kind: str  # "record" | "alert"
    name: str
    expr: str
    raw: dict[str, Any]


@dataclass
class Group:
    file: Path
    name: str
    interval: int  # seconds
    rules: list[Rule]
    raw: dict[str, Any]

    @property
    def key(self) -> str:  # the rule_group label of Prometheus' metrics
        return f"{self.file};{self.name}"


def load_groups(files: list[Path], default_interval: int) -> list[Group]:
    groups = []
    for path in files:
        data = yaml.safe_load(path.read_text()) or {}
        for g in data.get("groups") or []:
            rules = [Rule("record" if "record" in r else "alert", r.get("record") or r["alert"],
                          str(r["expr"]), r) for r in g.get("rules") or []]
            interval = seconds(g["interval"]) if g.get("interval") else default_interval
            groups.append(Group(path.resolve(), g["name"], interval, rules, g))
    return groups


def rule_globs(files: list[Path]) -> list[str]:
    """rule_files entries: a wildcard is allowed in the last path element only."""
    return sorted({f"{p.parent.resolve()}/*.yml" for p in files})


def dangling(groups: list[Group]) -> list[str]:
    """Recorded series (names with a colon, as recording rules are named) that some rule reads
    and no rule records: an incomplete rule set, whose readers find nothing."""
    recorded = {r.name for g in groups for r in g.rules if r.kind == "record"}
    read = {m for g in groups for r in g.rules
            for m in re.findall(r"(?<![\w:])([a-zA-Z_]\w*:[\w:]*)",
                                re.sub(r'"(?:[^"\\]|\\.)*"', '""', r.expr))}
    return sorted(read - recorded)


def recording_levels(groups: list[Group]) -> list[list[Group]]:
    """The recording rules by dependency level: level k reads the output of levels < k only
    (promtool backfills a rule from what the server already has, so each level needs the
    blocks of the ones before it). Groups keep their names and intervals."""
    rec = {r.name for g in groups for r in g.rules if r.kind == "record"}
    pattern = {n: re.compile(rf"(?<![\w:]){re.escape(n)}(?![\w:])") for n in rec}
    deps: dict[tuple[int, int], set[str]] = {}
    for gi, g in enumerate(groups):
        for ri, r in enumerate(g.rules):
            if r.kind == "record":
                deps[gi, ri] = {n for n, p in pattern.items() if n != r.name and p.search(r.expr)}
    level: dict[str, int] = {}
    pending = dict(deps)
    k = 0
    while pending:
        ready = {key for key, d in pending.items() if all(level.get(n, k) < k for n in d)}
        if not ready:  # a cycle: put the rest on the last level
            log(f"recording rules depend on each other in a cycle: {len(pending)} backfilled "
                "last, from incomplete inputs")
            ready = set(pending)
        for gi, ri in ready:
            level[groups[gi].rules[ri].name] = k
            del pending[gi, ri]
        k += 1
    out: list[list[Group]] = []
    for lv in range(k):
        lv_groups = []
        for gi, g in enumerate(groups):
            rules = [r for ri, r in enumerate(g.rules)
                     if r.kind == "record" and (gi, ri) in deps and level[r.name] == lv]
            if rules:
                lv_groups.append(Group(g.file, g.name, g.interval, rules, g.raw))
        out.append(lv_groups)
    return out


def write_rule_file(path: Path, groups: list[Group], interval: int | None = None) -> None:
    """groups as a rule file; interval overrides every group's interval when given."""
    data = {"groups": [
        {**{k: v for k, v in g.raw.items() if k != "rules"},
         "interval": dur(interval if interval is not None else g.interval),
         "rules": [r.raw for r in g.rules]}
        for g in groups]}
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=1 << 16))


# --------------------------------------------------------------------------- prometheus


LIVE: set[subprocess.Popen[bytes]] = set()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ticks(pid: int) -> float:
    """utime + stime of the process (all its threads, dead ones too), in seconds; 10 ms steps."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Time on CPU of every thread of the process, in seconds, to the nanosecond (the
    scheduler's sum_exec_runtime per thread; a Go runtime keeps its threads). Falls back to
    utime + stime where schedstat is missing."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that just exited
                total += int((task / "schedstat").read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return cpu_ticks(pid)
    return total / 1e9


class Prometheus:
    def __init__(self, binary: Path, data: Path, work: Path, tag: str, scrape_port: int,
                 scrape_interval: int, eval_interval: int, rule_files: list[str],
                 flags: list[str] | None = None) -> None:
        self.binary, self.data, self.tag, self.flags = binary, data, tag, flags or []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = work / f"prometheus-{tag}.yml"
        self.log = work / f"prometheus-{tag}.log"
        self.config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": dur(scrape_interval),
                       "evaluation_interval": dur(eval_interval)},
            "scrape_configs": [{"job_name": "fleet", "honor_labels": True,
                                "static_configs": [{"targets": [f"127.0.0.1:{scrape_port}"]}]}]
            if scrape_port else [],  # 0: no scrapes (their `up` would be appended at now)
            "rule_files": rule_files,
        }, sort_keys=False))
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Prometheus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 300) -> None:
        with self.log.open("ab") as logf:
            self.proc = subprocess.Popen(
                [str(self.binary / "prometheus"), f"--config.file={self.config}",
                 f"--storage.tsdb.path={self.data}", f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=30d", *self.flags],
                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        LIVE.add(self.proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"prometheus exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError):
                if self.get("/-/ready", timeout=5):
                    return
            time.sleep(0.5)
        raise SystemExit(f"prometheus not ready after {timeout:.0f} s:\n{self.tail()}")

    def stop(self, timeout: float = 120) -> None:
        p, self.proc = self.proc, None
        if p is None:
            return
        stop_process(p, timeout)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def get(self, path: str, params: dict[str, str] | None = None,
            timeout: float = 120) -> bytes:
        url = self.url + path
        data = urllib.parse.urlencode(params).encode() if params else None
        with urllib.request.urlopen(url, data=data, timeout=timeout) as r:
            body: bytes = r.read()
            return body

    def api(self, path: str, params: dict[str, str] | None = None,
            timeout: float = 300) -> Any:
        try:
            body = self.get(path, params, timeout)
        except urllib.error.HTTPError as e:
            body = e.read()
        reply = json.loads(body)
        if reply.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {reply.get('error')}")
        return reply["data"]

    def metrics(self) -> dict[str, dict[str, float]]:
        """prometheus_* samples of /metrics and the Go runtime's allocation and GC counters:
        name -> {labels: value}."""
        out: dict[str, dict[str, float]] = {}
        for line in self.get("/metrics").decode().splitlines():
            m = re.match(r"(prometheus_\w+|go_memstats_alloc_bytes_total|"
                         r"go_gc_duration_seconds_count)(\{.*\})? (\S+)$", line)
            if m:
                out.setdefault(m[1], {})[m[2] or ""] = float(m[3])
        return out


def stop_process(p: subprocess.Popen[bytes], timeout: float = 60) -> None:
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            p.wait(timeout=30)
    LIVE.discard(p)


def by_group(samples: dict[str, float]) -> dict[str, float]:
    out = {}
    for labels, v in samples.items():
        m = re.search(r'rule_group="((?:[^"\\]|\\.)*)"', labels)
        if m:
            out[m[1].replace('\\"', '"').replace("\\\\", "\\")] = v
    return out


def run(cmd: list[str], timeout: float, what: str, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise SystemExit(f"{what}: timed out after {timeout:.0f} s") from e
    if p.returncode != 0:
        raise SystemExit(f"{what} failed ({p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-3000:]}")
    return p.stdout + p.stderr


# --------------------------------------------------------------------------- data


def block_metas(data: Path) -> list[dict[str, Any]]:
    metas = []
    for meta in sorted(data.glob("*/meta.json")):
        with contextlib.suppress(OSError, ValueError):
            metas.append(json.loads(meta.read_text()))
    return metas


def overlapping(metas: list[dict[str, Any]]) -> bool:
    spans = sorted((m["minTime"], m["maxTime"]) for m in metas)
    return any(b[0] < a[1] for a, b in itertools.pairwise(spans))


def write_history(fleet: Fleet, om: Path, history: int) -> dict[str, Any]:
    start = fleet.t_end - history
    t0 = time.monotonic()
    samples = fleet.write_openmetrics(om, start, 60)
    size = om.stat().st_size
    written = time.monotonic() - t0
    log(f"  {samples:,} samples of {len(fleet.series):,} series written as OpenMetrics "
        f"({size / MIB:.0f} MiB, {written:.0f} s)")
    return {"series": len(fleet.series), "samples": samples, "openmetrics_mib": size / MIB,
            "write_s": written, "start": start, "end": fleet.t_end}


def import_openmetrics(promtool: Path, om: Path, data: Path) -> float:
    """promtool tsdb create-blocks-from openmetrics into data, in 18h blocks (2h by default):
    Prometheus finds nothing of them to compact while measuring, and reads fewer blocks."""
    t0 = time.monotonic()
    data.mkdir(exist_ok=True)
    cmd = [str(promtool), "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(om),
           str(data)]
    try:
        run([*cmd[:4], "--max-block-duration=24h", *cmd[4:]], 3600, "backfill")
    except SystemExit as e:
        if "max-block-duration" not in str(e):
            raise
        run(cmd, 3600, "backfill")
    took = time.monotonic() - t0
    log(f"  promtool tsdb create-blocks-from openmetrics {om.name}: {took:.0f} s, "
        f"{len(block_metas(data))} blocks in {data.name}/")
    return took


def split_head(om: Path, cut: int) -> dict[int, list[tuple[str, float]]]:
    """Rewrite the OpenMetrics file om without its samples after cut (a time in seconds) and
    return those, grouped by timestamp: (series as written, value). catch_up feeds them into
    Prometheus's head."""
    head: dict[int, list[tuple[str, float]]] = {}
    kept = om.with_name(om.name + ".blocks")
    with om.open() as src, kept.open("w", buffering=1 << 20) as dst:
        for line in src:
            if line[0] != "#":
                series, value, ts = line.rsplit(" ", 2)
                t = int(float(ts))
                if t > cut:
                    head.setdefault(t, []).append((series, float(value)))
                    continue
            dst.write(line)
    kept.replace(om)
    return head


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(num: int, payload: bytes) -> bytes:  # protobuf: a length-delimited field
    return _uvarint(num << 3 | 2) + _uvarint(len(payload)) + payload


def _labels_of(series: str) -> list[tuple[str, str]]:
    name, _, rest = series.partition("{")
    pairs = re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest)
    unescape = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
    return sorted([("__name__", name), *((k, re.sub(r"\\.", lambda m: unescape[m[0]], v))
                                         for k, v in pairs)])


def write_request(samples: dict[str, list[tuple[int, float]]]) -> bytes:
    """A remote-write 1.0 WriteRequest (protobuf, hand-encoded: TimeSeries = 1 of Labels = 1,
    Samples = 2), snappy-framed as one block of literals (valid snappy, not compressed)."""
    body = bytearray()
    for series, points in samples.items():
        ts = b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                      for k, v in _labels_of(series))
        ts += b"".join(_field(2, b"\x09" + struct.pack("<d", v) + b"\x10" + _uvarint(t * 1000))
                       for t, v in points)
        body += _field(1, ts)
    out = bytearray(_uvarint(len(body)))
    for i in range(0, len(body), 1 << 16):  # literal chunks of at most 64 KiB
        chunk = body[i:i + (1 << 16)]
        out += bytes([61 << 2]) + struct.pack("<H", len(chunk) - 1) + chunk
    return bytes(out)


def catch_up(head: dict[int, list[tuple[str, float]]], fleet_end: int,
             make_prom: Callable[[], Prometheus], step: int = 600) -> float:
    """Feed the samples split_head took out into Prometheus's head, oldest first, through its
    remote-write receiver: `step` seconds of every series per request, so that each request
    stays inside the head's appendable window (its newest sample less an hour). The head then
    holds the newest hours of history as a live server's does (its newest 2-3 h are in memory,
    not in blocks), and the WAL keeps them for every run after this."""
    times = sorted(head)
    batches: dict[int, dict[str, list[tuple[int, float]]]] = {}
    for t in times:  # oldest first, and in time order within each series
        batch = batches.setdefault((t - times[0]) // step, {})
        for series, v in head[t]:
            batch.setdefault(series, []).append((t, v))
    t0 = time.monotonic()
    with make_prom() as prom:
        for batch in batches.values():
            req = urllib.request.Request(
                prom.url + "/api/v1/write", data=write_request(batch), method="POST",
                headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                         "X-Prometheus-Remote-Write-Version": "0.1.0"})
            try:
                with urllib.request.urlopen(req, timeout=300) as r:
                    r.read()
            except urllib.error.HTTPError as e:
                raise SystemExit(f"remote write to the head: {e.code} {e.read()[:300]!r}") from e
        hs = prom.api("/api/v1/status/tsdb")["headStats"]
        if hs["minTime"] > times[0] * 1000 or hs["maxTime"] < times[-1] * 1000:
            raise SystemExit(f"catch-up: the head holds {hs}, not {times[0]}-{times[-1]}")
        log(f"  head: {sum(map(len, head.values())):,} samples from {dur(fleet_end - times[0])} "
            f"before the end, {hs['numSeries']:,} series, written to the head by remote write in "
            f"{time.monotonic() - t0:.0f} s")
    return time.monotonic() - t0


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def write_recorded(prom: Prometheus, groups: list[Group], om: Path, start: int,
                   end: int) -> dict[str, float]:
    """Each recording rule evaluated over [start, end] at its group's interval by one range
    query (what promtool's rule backfill does, per block range), appended to om as OpenMetrics:
    the query's labels, the rule's labels over them, the record name."""
    families: dict[str, list[tuple[Group, Rule]]] = {}
    for g in groups:
        for r in g.rules:
            families.setdefault(r.name, []).append((g, r))
    samples = dup = 0
    with om.open("a", buffering=1 << 20) as f:
        for name, rules in sorted(families.items()):
            f.write(f"# TYPE {name} unknown\n")
            seen: set[str] = set()
            for g, r in rules:
                first = start + (-start) % g.interval
                d = prom.api("/api/v1/query_range", {
                    "query": r.expr, "start": str(first), "end": str(end),
                    "step": str(g.interval)}, timeout=600)
                extra = {str(k): str(v) for k, v in (r.raw.get("labels") or {}).items()}
                for series in d["result"]:
                    lab = {k: v for k, v in series["metric"].items() if k != "__name__"}
                    lab.update(extra)
                    text = "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(lab.items())
                                          if v != "") + "}"
                    if text in seen:  # two rules recording the same series: keep the first
                        dup += 1
                        continue
                    seen.add(text)
                    prefix = name + text
                    f.write("".join(f"{prefix} {v} {t}\n" for t, v in series["values"]))
                    samples += len(series["values"])
    return {"samples": samples, "duplicate_series": dup}


def backfill_recorded_by_query(groups: list[Group], raw_om: Path, start: int, end: int,
                               make_prom: Callable[[str, Path], Prometheus], promtool: Path,
                               work: Path) -> dict[str, Any]:
    """The recording rules' history, level by level, from a staging copy of the raw history,
    appended to raw_om: the caller imports raw and recorded history into the data directory
    together, so that no two blocks overlap (nothing for Prometheus to compact while
    measuring)."""
    levels = recording_levels(groups)
    info: dict[str, Any] = {"method": "range queries + create-blocks-from openmetrics",
                            "recording_rules": sum(len(g.rules) for lv in levels for g in lv),
                            "levels": []}
    stage = work / "data-stage"
    import_openmetrics(promtool, raw_om, stage)
    level_oms = []
    for k, lv in enumerate(levels):
        n = sum(len(g.rules) for g in lv)
        om = work / f"recorded-{k}.om"
        t0 = time.monotonic()
        with make_prom(f"record-{k}", stage) as prom:
            got = write_recorded(prom, lv, om, start, end)
        took = time.monotonic() - t0
        log(f"  level {k}: {n} recording rules, {got['samples']:,.0f} samples by range "
            f"queries in {took:.0f} s")
        level_oms.append(om)
        info["levels"].append({"rules": n, **got, "seconds": took})
        if k + 1 < len(levels):  # the next level reads this one's output
            with om.open("a") as f:
                f.write("# EOF\n")
            import_openmetrics(promtool, om, stage)
            with om.open("r+") as f:
                f.truncate(om.stat().st_size - len("# EOF\n"))
    shutil.rmtree(stage)
    eof = b"# EOF\n"
    with raw_om.open("r+b") as f:  # raw + every level, one file, one import
        f.seek(-len(eof), os.SEEK_END)
        if f.read() != eof:
            raise SystemExit(f"{raw_om} does not end in # EOF")
        f.seek(-len(eof), os.SEEK_END)
        f.truncate()
        for om in level_oms:
            with om.open("rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)
            om.unlink()
        f.write(eof)
    return info


def block_cap() -> int:
    """How many uncompacted blocks Prometheus may be given at once: each block it opens holds
    file descriptors (index and chunk segments), and it inherits our RLIMIT_NOFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return 100_000 if soft == resource.RLIM_INFINITY else max(200, (soft - 2000) // 4)


def settle(make_prom: Callable[[str], Prometheus], data: Path, tag: str) -> float:
    """Start Prometheus on the data directory and wait until its compactor has merged the
    blocks that overlap in time (it first looks a minute after start)."""
    t0 = time.monotonic()
    with make_prom(tag) as prom:
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            time.sleep(5)
            m = prom.metrics()
            triggered = sum(m.get("prometheus_tsdb_compactions_triggered_total", {}).values())
            if triggered >= 1 and not overlapping(block_metas(data)) \
                    and not list(data.glob("*.tmp*")):
                break
        else:
            log("  compaction did not finish in 30 minutes; going on anyway")
    return time.monotonic() - t0


def backfill_rules(groups: list[Group], start: int, end: int,
                   make_prom: Callable[[str], Prometheus], promtool: Path, data: Path,
                   work: Path, eval_interval: int) -> dict[str, Any]:
    """Backfill the recording rules' history level by level (promtool evaluates a rule against
    what the server already holds), then let Prometheus compact the blocks that overlap in
    time before anything is measured.

    promtool writes one block per rule and block range (--max-block-duration=24h: 18h ranges,
    2-3 blocks per rule for 26h; 14 by default), so thousands of blocks for a fleet: they are
    handed to Prometheus in batches it can hold open, each compacted before the next."""
    levels = recording_levels(groups)
    if not levels:
        return {"recording_rules": 0}
    info: dict[str, Any] = {"recording_rules": sum(len(g.rules) for lv in levels for g in lv),
                            "levels": [], "settle_s": 0.0, "settles": 0}
    cap = block_cap()
    pending = 0  # blocks moved in and not compacted yet
    long_blocks = True
    for k, lv in enumerate(levels):
        f = work / f"backfill-level-{k}.yml"
        write_rule_file(f, lv)
        out = work / f"backfill-level-{k}"
        n = sum(len(g.rules) for g in lv)
        log(f"  promtool tsdb create-blocks-from rules: level {k}, {n} recording rules")
        t0 = time.monotonic()
        with make_prom(f"backfill-{k}") as prom:
            base = [str(promtool), "tsdb", "create-blocks-from", "rules", "--quiet",
                    f"--start={start}", f"--end={end}", f"--url={prom.url}",
                    f"--output-dir={out}", f"--eval-interval={eval_interval}s", str(f)]
            shutil.rmtree(out, ignore_errors=True)
            try:
                text = run([*base[:5], "--max-block-duration=24h", *base[5:]] if long_blocks
                           else base, 6 * 3600, f"create-blocks-from rules (level {k})")
            except SystemExit as e:
                if not long_blocks or "max-block-duration" not in str(e):
                    raise
                long_blocks = False
                shutil.rmtree(out, ignore_errors=True)
                text = run(base, 6 * 3600, f"create-blocks-from rules (level {k})")
        took = time.monotonic() - t0
        blocks = sorted(d for d in out.iterdir() if (d / "meta.json").is_file()) \
            if out.is_dir() else []
        log(f"    {len(blocks)} blocks in {took:.0f} s")
        info["levels"].append({"rules": n, "blocks": len(blocks), "seconds": took,
                               "promtool_output": text[-2000:]})
        for d in blocks:
            if pending >= cap:
                log(f"    {pending} blocks: letting Prometheus compact them before more")
                info["settle_s"] += settle(make_prom, data, f"settle-{info['settles']}")
                info["settles"] += 1
                pending = 0
            shutil.move(str(d), data / d.name)
            pending += 1
        shutil.rmtree(out, ignore_errors=True)
    log(f"  waiting for Prometheus to compact the {pending} new blocks")
    info["settle_s"] += settle(make_prom, data, f"settle-{info['settles']}")
    info["settles"] += 1
    info["blocks_after"] = len(block_metas(data))
    info["block_cap"] = cap
    return info


# --------------------------------------------------------------------------- measuring


@dataclass
class RuleSet:
    name: str  # idle | seed | generated
    files: list[Path]
    groups: list[Group]

    @property
    def rules(self) -> int:
        return sum(len(g.rules) for g in self.groups)


GC_PERIOD = 120  # the Go runtime forces a garbage collection every 2 minutes when none ran


def slice_length(groups: list[Group], scrape: int, eval_interval: int) -> int:
    """One slice holds a whole number of evaluations of every group, of scrapes and of the Go
    runtime's forced GC period (1-minute slices of an idle Prometheus alternate 10 and 30 ms:
    with and without that GC)."""
    out = math.lcm(scrape, eval_interval, GC_PERIOD)
    for g in groups:
        out = math.lcm(out, g.interval)
    return out


def wait_first_evaluations(prom: Prometheus, groups: list[Group], timeout: float) -> float:
    t0 = time.monotonic()
    want = {g.key for g in groups}
    while time.monotonic() - t0 < timeout:
        done = by_group(prom.metrics().get(
            "prometheus_rule_group_last_evaluation_timestamp_seconds", {}))
        if want and all(done.get(k, 0) > 0 for k in want):
            return time.monotonic() - t0
        time.sleep(1)
    log(f"  not every group was evaluated once within {timeout:.0f} s; measuring anyway")
    return time.monotonic() - t0


def measure_window(prom: Prometheus, slice_s: int, n_slices: int) -> dict[str, Any]:
    m0 = prom.metrics()
    load0 = os.getloadavg()
    c0 = prev = cpu_seconds(prom.pid)
    ticks0 = cpu_ticks(prom.pid)
    t0 = time.monotonic()
    wall0 = time.time()
    slices = []
    for k in range(1, n_slices + 1):
        time.sleep(max(0.0, t0 + k * slice_s - time.monotonic()))
        c = cpu_seconds(prom.pid)
        slices.append(c - prev)
        prev = c
    window = time.monotonic() - t0
    ticks1 = cpu_ticks(prom.pid)
    wall1 = time.time()
    load1 = os.getloadavg()
    m1 = prom.metrics()

    def delta(name: str) -> dict[str, float]:
        a, b = by_group(m0.get(name, {})), by_group(m1.get(name, {}))
        return {k: b[k] - a.get(k, 0.0) for k in b}

    def total(m: dict[str, dict[str, float]], name: str) -> float:
        return sum(m.get(name, {}).values())

    return {
        "window_s": window, "start": wall0, "end": wall1, "cpu_s": prev - c0,
        "cpu_s_utime_stime": ticks1 - ticks0,
        "slice_s": slice_s, "slices_cpu_s": slices,
        "iterations": delta("prometheus_rule_group_iterations_total"),
        "missed": delta("prometheus_rule_group_iterations_missed_total"),
        "missed_total_at_end": total(m1, "prometheus_rule_group_iterations_missed_total"),
        "failures": total(m1, "prometheus_rule_evaluation_failures_total")
        - total(m0, "prometheus_rule_evaluation_failures_total"),
        "group_duration_s": total(m1, "prometheus_rule_group_duration_seconds_sum")
        - total(m0, "prometheus_rule_group_duration_seconds_sum"),
        "last_duration_s": by_group(m1.get("prometheus_rule_group_last_duration_seconds", {})),
        "compactions": total(m1, "prometheus_tsdb_compactions_total")
        - total(m0, "prometheus_tsdb_compactions_total"),
        "alloc_bytes": total(m1, "go_memstats_alloc_bytes_total")
        - total(m0, "go_memstats_alloc_bytes_total"),
        "gc_cycles": total(m1, "go_gc_duration_seconds_count")
        - total(m0, "go_gc_duration_seconds_count"),
        "loadavg_start": load0, "loadavg_end": load1,
    }


def query_cpu(prom: Prometheus, expr: str, t: int, repeat: int) -> float:
    """Prometheus's CPU time (every thread, the Go GC's included) per instant query of expr at
    t, over `repeat` queries in a row, less the same for `vector(0)` (the HTTP API's own cost).
    The result is wrapped in count() so that encoding it costs the same for every rule."""
    def per_query(q: str) -> float:
        c0 = cpu_seconds(prom.pid)
        for _ in range(repeat):
            prom.api("/api/v1/query", {"query": q, "time": str(t)})
        return (cpu_seconds(prom.pid) - c0) / repeat
    return max(0.0, per_query(f"count({expr})") - per_query("count(vector(0))"))


def query_stats(prom: Prometheus, groups: list[Group], t: int,
                eval_interval: int, cpu_repeat: int = 0) -> dict[str, Any]:
    """Every rule's expr through /api/v1/query?stats=all at t: samples per cycle (the sum of
    totalQueryableSamples) and the query time (evalTotalTime, the least of 3 runs: the machine
    may be busy), by rule name. With cpu_repeat, also the server's CPU per query of each rule
    (query_cpu): its parse, series selection, evaluation and the garbage it leaves, which
    evalTotalTime leaves out in part."""
    per_name: dict[str, dict[str, float]] = {}
    samples = query_s = cpu_s = 0.0
    errors: list[str] = []
    for g in groups:
        per_cycle = eval_interval / g.interval
        for r in g.rules:
            try:
                runs = [prom.api("/api/v1/query", {"query": r.expr, "time": str(t),
                                                   "stats": "all"})["stats"] for _ in range(3)]
                c = query_cpu(prom, r.expr, t, cpu_repeat) * per_cycle if cpu_repeat else 0.0
            except (RuntimeError, OSError) as e:
                errors.append(f"{g.name}/{r.name}: {e}")
                continue
            st = runs[0]
            n = st["samples"]["totalQueryableSamples"] * per_cycle
            q = min(x["timings"]["evalTotalTime"] for x in runs) * per_cycle
            agg = per_name.setdefault(r.name, {"rules": 0, "samples": 0.0, "query_s": 0.0,
                                               "peak_samples": 0.0, "cpu_s": 0.0})
            agg["rules"] += 1
            agg["samples"] += n
            agg["query_s"] += q
            agg["cpu_s"] += c
            agg["peak_samples"] = max(agg["peak_samples"], st["samples"]["peakSamples"])
            samples += n
            query_s += q
            cpu_s += c
    return {"samples_per_cycle": samples, "query_s_per_cycle": query_s,
            "query_cpu_s_per_cycle": cpu_s if cpu_repeat else float("nan"),
            "cpu_repeat": cpu_repeat, "by_rule": per_name,
            "errors": errors[:20], "error_count": len(errors), "time": t}


def rules_api(prom: Prometheus) -> dict[str, Any]:
    groups = prom.api("/api/v1/rules")["groups"]
    health: dict[str, int] = {}
    first_error = ""
    for g in groups:
        for r in g["rules"]:
            health[r["health"]] = health.get(r["health"], 0) + 1
            if r.get("lastError") and not first_error:
                first_error = f"{g['name']}/{r['name']}: {r['lastError']}"
    times = [g["evaluationTime"] for g in groups]
    return {"groups": len(groups), "rules": sum(len(g["rules"]) for g in groups),
            "health": health, "first_error": first_error,
            "evaluation_time_sum_s": sum(times), "evaluation_time_max_s": max(times, default=0)}


def alerts_api(prom: Prometheus) -> tuple[dict[str, int], list[str]]:
    """Alerts by name and state, and every alert as name/service/signal/state (sorted)."""
    out: dict[str, int] = {}
    keys = []
    for a in prom.api("/api/v1/alerts")["alerts"]:
        k = f"{a['labels'].get('alertname')}/{a['state']}"
        out[k] = out.get(k, 0) + 1
        keys.append("/".join((a["labels"].get("alertname", ""), a["labels"].get("service", ""),
                              a["labels"].get("signal", ""), a["state"])))
    return dict(sorted(out.items())), sorted(keys)


def sanity(prom: Prometheus, fleet: Fleet, groups: list[Group], t: int) -> dict[str, Any]:
    """Series counts, and samples per series over the last day and 26h: the backfilled history
    and the live scrape (and the recorded series' history) are all there."""
    def scalar(q: str) -> float:
        r = prom.api("/api/v1/query", {"query": q, "time": str(t)})["result"]
        return float(r[0]["value"][1]) if r else float("nan")

    names = sorted({s.name for s in fleet.series}
                   | {r.name for g in groups for r in g.rules if r.kind == "record"})
    out: dict[str, Any] = {
        "app_series_expected": sum(1 for s in fleet.series
                                   if s.name != "container_spec_memory_limit_bytes"),
        "app_series": scalar('count({job=~"svc-.+", __name__!~".*:.*|ALERTS.*"})'),
        "limit_series_expected": 3 * fleet.n,
        "limit_series": scalar("count(container_spec_memory_limit_bytes)")}
    for name in names:
        out[name] = {"series": scalar(f"count({name})"),
                     "avg_samples_1d": scalar(f"avg(count_over_time({name}[1d]))"),
                     "avg_samples_26h": scalar(f"avg(count_over_time({name}[26h]))")}
    return out


def one_run(rs: RuleSet, fleet: Fleet, make_prom: Callable[[str, list[str]], Prometheus],
            args: argparse.Namespace, minutes: float,
            sanity_groups: list[Group]) -> dict[str, Any]:
    slice_s = slice_length(rs.groups, args.scrape_s, args.eval_s)
    n_slices = max(1, math.ceil(minutes * 60 / slice_s - 1e-9))
    log(f"  run {rs.name}: {len(rs.groups)} groups, {rs.rules} rules; "
        f"window {n_slices} x {slice_s} s")
    res: dict[str, Any] = {"size": fleet.n, "ruleset": rs.name, "groups": len(rs.groups),
                           "rules": rs.rules,
                           "recording_rules": sum(1 for g in rs.groups for r in g.rules
                                                  if r.kind == "record")}
    with make_prom(f"{fleet.n}-{rs.name}", rule_globs(rs.files)) as prom:
        t0 = time.monotonic()
        if rs.groups:
            res["first_evaluations_s"] = wait_first_evaluations(
                prom, rs.groups, timeout=max(args.eval_s, *(g.interval for g in rs.groups)) * 4
                + 120)
        else:
            time.sleep(5)  # start-up transients; each slice holds the same scrapes anyway
        res["warmup_s"] = time.monotonic() - t0
        profile = None
        if args.pprof:  # Prometheus's own CPU profile of the window (costs a little CPU)
            args.pprof.mkdir(parents=True, exist_ok=True)
            out = args.pprof / f"{fleet.n}-{rs.name}.pprof"
            secs = max(1, n_slices * slice_s - 2)
            profile = threading.Thread(target=lambda: out.write_bytes(prom.get(
                f"/debug/pprof/profile?seconds={secs}", timeout=secs + 120)))
            profile.start()
        res.update(measure_window(prom, slice_s, n_slices))
        if profile is not None:
            profile.join()
        t = int(res["end"]) - 1
        if rs.groups:
            res["rules_api"] = rules_api(prom)
            res["alerts"], res["alert_keys"] = alerts_api(prom)
            if rs.name not in LAYOUTS or fleet.n <= args.samples_max:
                t1 = time.monotonic()
                res["stats"] = query_stats(prom, rs.groups, t, args.eval_s, args.query_cpu)
                res["stats"]["seconds"] = time.monotonic() - t1
        else:
            res["sanity"] = san = sanity(prom, fleet, sanity_groups, t)
            log(f"    sanity: {san['app_series']:.0f}/{san['app_series_expected']} app series, "
                f"{san['limit_series']:.0f}/{san['limit_series_expected']} limit series; "
                "samples per series in the last 26h: " + ", ".join(
                    f"{k} {v['avg_samples_26h']:.0f}" for k, v in san.items()
                    if isinstance(v, dict)))
            res["stats"] = {"samples_per_cycle": 0.0, "query_s_per_cycle": 0.0}
    # cycles: evaluations done per group, in global evaluation intervals
    if rs.groups:
        iv = {g.key: g.interval for g in rs.groups}
        done = [res["iterations"].get(k, 0.0) * iv[k] / args.eval_s for k in iv]
        res["cycles"] = statistics.mean(done)
        res["iterations_total"] = sum(res["iterations"].values())
        res["missed_in_window"] = sum(res["missed"].values())
        res["slowest_group_s"] = max(res["last_duration_s"].values(), default=0.0)
        # the per-group maps are large; keep them only when something was missed
        if not res["missed_in_window"] and not res["missed_total_at_end"]:
            res["missed"] = {}
        res["iterations"] = {}
        res["last_duration_s"] = dict(sorted(res["last_duration_s"].items(),
                                             key=lambda kv: -kv[1])[:10])
    else:
        res["cycles"] = res["window_s"] / args.eval_s
    log(f"    CPU {res['cpu_s']:.2f} s in {res['window_s']:.0f} s, cycles {res['cycles']:.2f}, "
        f"missed {res.get('missed_total_at_end', 0):.0f}")
    return res


def net(run_: dict[str, Any], idle: dict[str, Any] | None, eval_s: int) -> dict[str, float]:
    """Net CPU per cycle: the whole window, and the median, min and max over slices."""
    rate = idle["cpu_s"] / idle["window_s"] if idle else 0.0
    cycles = run_["cycles"] or float("nan")
    whole = (run_["cpu_s"] - rate * run_["window_s"]) / cycles
    per_slice = [(c - rate * run_["slice_s"]) * eval_s / run_["slice_s"]
                 for c in run_["slices_cpu_s"]]
    alloc_rate = idle["alloc_bytes"] / idle["window_s"] if idle and "alloc_bytes" in idle else 0
    alloc = (run_.get("alloc_bytes", float("nan")) - alloc_rate * run_["window_s"]) / cycles
    return {"cpu_ms": 1000 * whole, "median_ms": 1000 * statistics.median(per_slice),
            "alloc_mb": alloc / 1e6, "gc_cycles": run_.get("gc_cycles", float("nan")),
            "min_ms": 1000 * min(per_slice), "max_ms": 1000 * max(per_slice),
            "gross_ms": 1000 * run_["cpu_s"] / cycles,
            "group_eval_ms": 1000 * run_.get("group_duration_s", 0.0) / cycles}


# --------------------------------------------------------------------------- report


def fmt(x: float, digits: int = 0) -> str:
    if x != x:  # nan
        return "n/a"
    return f"{x:,.{digits}f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 and a == a and b == b else "n/a"


# With --classes: rulegen's class layout (classes) and bench/class_rules.py's prototype with
# recorded slopes; name -> the prefix of its recorded names (the layouts share one TSDB, and
# `rulegen:x{service="a"}` of one must not select another's series)
PROTOTYPES = {"classes": "rulegen_c", "classes-slopes": "rulegen_s", "classes-4m": "rulegen_c4",
              "classes-8m": "rulegen_c8"}
# classes-4m, classes-8m: the class layout with that `evaluation_interval` (docs/inventory.md)
SLOW_EVALUATION = {"classes-4m": "4m", "classes-8m": "8m"}
LAYOUTS = ("generated", *PROTOTYPES)  # rulegen's layout, and the prototypes made from it


def per_service_lines(derived: dict[tuple[int, str], dict[str, float]], name: str) -> list[str]:
    out = []
    sizes = sorted(s for s, k in derived if k == name)
    for lo, hi in itertools.pairwise(sizes):
        a, b = derived[lo, name], derived[hi, name]
        per = {k: (b[k] / hi) / (a[k] / lo) if a[k] > 0 else float("nan")
               for k in ("cpu_ms", "samples", "group_eval_ms", "query_ms")}
        x = {k: "n/a" if v != v else f"{v:.2f}x" for k, v in per.items()}  # nan: n/a
        out.append(f"- {name}, per service at {hi} vs {lo}: net CPU {x['cpu_ms']}, "
                   f"samples {x['samples']}, group evaluation time "
                   f"{x['group_eval_ms']}, query time {x['query_ms']} "
                   f"({fmt(b['cpu_ms'] / hi, 1)} vs {fmt(a['cpu_ms'] / lo, 1)} ms of CPU per "
                   "service and cycle)")
    return out


def by_rule_table(runs: list[dict[str, Any]], name: str) -> list[str]:
    big = max((r for r in runs if r["ruleset"] == name and r.get("stats", {}).get("by_rule")),
              key=lambda r: r["size"], default=None)
    if not big:
        return []
    st = big["stats"]
    out = ["", f"{name.capitalize()} rules at {big['size']} services, by rule name (stats=all):",
           "", "| rule | rules | samples/cycle | share | query ms/cycle | query CPU ms/cycle |",
           "|---|---:|---:|---:|---:|---:|"]
    cpu = bool(st.get("cpu_repeat"))
    for rule, v in sorted(st["by_rule"].items(),
                          key=lambda kv: -kv[1]["cpu_s" if cpu else "query_s"]):
        out.append(f"| {rule} | {v['rules']} | {fmt(v['samples'])} | "
                   f"{100 * v['samples'] / max(st['samples_per_cycle'], 1):.0f}% | "
                   f"{fmt(1000 * v['query_s'], 1)} | "
                   f"{fmt(1000 * v.get('cpu_s', float('nan')), 1) if cpu else 'n/a'} |")
    return [*out, ""]


def alert_agreement(runs: list[dict[str, Any]]) -> list[str]:
    """Whether the prototypes raised the alerts rulegen's layout raised, per size."""
    out = []
    keys = {(r["size"], r["ruleset"]): set(r.get("alert_keys", [])) for r in runs}
    for (size, name), b in sorted(keys.items()):
        a = keys.get((size, "generated"))
        if name not in PROTOTYPES or a is None:
            continue
        if a == b:
            out.append(f"- {size} services: {name} raised the same {len(a)} alerts as the "
                       "generated rules (name, service, signal, state)")
        else:
            out.append(f"- {size} services: the alerts of {name} differ (name/service/signal/"
                       f"state): only generated {sorted(a - b)[:6]}, only {name} "
                       f"{sorted(b - a)[:6]} ({len(a & b)} alike)")
    return out


def report(results: dict[str, Any], eval_s: int) -> str:
    runs = results["runs"]
    idle = {r["size"]: r for r in runs if r["ruleset"] == "idle"}
    dirty = " + uncommitted changes in rulegen/ or templates/" if results["git"]["dirty"] else ""
    shas = ", ".join(f"{n}: {h[:12]}" for n, h in results.get("rules_sha256_by_size", {}).items())
    out = [f"Prometheus {results['prometheus']}, evaluation_interval {dur(eval_s)}, scrape "
           f"{dur(results['scrape_s'])}, {results['history']} of 1-minute history; rules of "
           f"rulegen at {ref(results['git'])}{dirty}; rules sha256 by size: {shas}.",
           "",
           "| services | rule set | groups | rules | samples/cycle | CPU ms/cycle, gross | "
           "CPU ms/cycle, net of idle | group eval ms/cycle | query ms/cycle | query CPU "
           "ms/cycle | missed iterations |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    derived: dict[tuple[int, str], dict[str, float]] = {}
    order = {"idle": 0, "seed": 1, **{k: 2 + i for i, k in enumerate(LAYOUTS)}}
    for r in sorted(runs, key=lambda r: (r["size"], order.get(r["ruleset"], 3))):
        base = idle.get(r["size"]) if r["ruleset"] != "idle" else None
        n = net(r, base, eval_s)
        spread = (f" ({fmt(n['min_ms'])} to {fmt(n['max_ms'])})"
                  if len(r["slices_cpu_s"]) > 1 else "")
        stats = r.get("stats", {})
        if r["ruleset"] == "idle":
            gross, cpu = f"{fmt(n['gross_ms'])}{spread}", "(baseline)"
        else:
            # without an idle run there is no net CPU (gross is not comparable with it)
            derived[r["size"], r["ruleset"]] = {
                **n, **({} if base else {"cpu_ms": float("nan")}),
                "samples": stats.get("samples_per_cycle", float("nan")),
                "query_ms": 1000 * stats.get("query_s_per_cycle", float("nan")),
                "query_cpu_ms": 1000 * stats.get("query_cpu_s_per_cycle", float("nan"))}
            gross = fmt(n["gross_ms"])
            cpu = f"**{fmt(n['cpu_ms'])}**{spread}" if base else "n/a (no idle run)"
        out.append(f"| {r['size']} | {r['ruleset']} | {r['groups']} | {r['rules']} "
                   f"| {fmt(stats.get('samples_per_cycle', float('nan')))} | {gross} | {cpu} "
                   f"| {fmt(n['group_eval_ms'])} "
                   f"| {fmt(1000 * stats.get('query_s_per_cycle', float('nan')), 1)} "
                   f"| {fmt(1000 * stats.get('query_cpu_s_per_cycle', float('nan')), 1)} "
                   f"| {fmt(r.get('missed_total_at_end', 0))} |")
    out.append("")
    for size, name in itertools.product(sorted({s for s, _ in derived}), LAYOUTS):
        g, s = derived.get((size, name)), derived.get((size, "seed"))
        if g and s:
            out.append(f"- {size} services, {name} / seed: samples "
                       f"{ratio(g['samples'], s['samples'])}, net CPU "
                       f"{ratio(g['cpu_ms'], s['cpu_ms'])}, group evaluation time "
                       f"{ratio(g['group_eval_ms'], s['group_eval_ms'])}, query time "
                       f"{ratio(g['query_ms'], s['query_ms'])}, query CPU "
                       f"{ratio(g['query_cpu_ms'], s['query_cpu_ms'])}")
    out += alert_agreement(runs)
    for r in runs:
        if r["ruleset"] in LAYOUTS and r.get("iterations_total"):
            mean = r["group_duration_s"] / r["iterations_total"]
            out.append(f"- {r['size']} {r['ruleset']}: a group evaluation took "
                       f"{1000 * mean:,.0f} ms "
                       f"of wall time on average in the window, the slowest group's last one "
                       f"{1000 * r['slowest_group_s']:,.0f} ms (interval {dur(eval_s)})")
    for (size, name), d in sorted(derived.items()):
        if d["alloc_mb"] == d["alloc_mb"]:
            out.append(f"- {size} {name}: {d['alloc_mb']:,.1f} MB allocated per cycle (net of "
                       f"idle), {d['gc_cycles']:.0f} Go GC cycles in the window")
    for name in LAYOUTS:
        out += per_service_lines(derived, name)
    for name in LAYOUTS:
        out += by_rule_table(runs, name)
    for n, names in results.get("dangling", {}).items():
        out.append(f"- {n} services: the generated rules read {', '.join(names)}, which no "
                   "generated rule records (an incomplete rule set)")
    for r in runs:
        if r.get("rules_api", {}).get("first_error"):
            out.append(f"- {r['size']} {r['ruleset']}: rule health {r['rules_api']['health']}, "
                       f"e.g. {r['rules_api']['first_error']}")
        if r.get("stats", {}).get("error_count"):
            out.append(f"- {r['size']} {r['ruleset']}: {r['stats']['error_count']} queries "
                       f"failed, e.g. {r['stats']['errors'][0]}")
        if r.get("failures"):
            out.append(f"- {r['size']} {r['ruleset']}: {r['failures']:.0f} rule evaluation "
                       "failures in the window")
        if r.get("missed_total_at_end"):
            out.append(f"- {r['size']} {r['ruleset']}: {r['missed_total_at_end']:.0f} missed "
                       f"iterations; slowest group {r['slowest_group_s']:.1f} s "
                       f"(interval {dur(eval_s)})")
    return "\n".join(out)


def ref(git: dict[str, Any]) -> str:
    c = str(git["commit"])
    return c[:12] if re.fullmatch(r"[0-9a-f]{40}", c) else c


def git_info(src: Path | None) -> dict[str, Any]:
    """The commit of the rulegen that generates the rules, and whether its rulegen/ or
    templates/ differ from it (then the rules' sha256 in the results tells them apart)."""
    def git(*a: str) -> str:
        p = subprocess.run(["git", *a], cwd=src or ROOT, capture_output=True, text=True,
                           timeout=30)
        return p.stdout.strip() if p.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if src and (not commit or Path(git("rev-parse", "--show-toplevel") or "/") != src):
        return {"commit": f"the rulegen in {src}", "dirty": False, "dirty_files": []}
    dirty = git("status", "--porcelain", "--", "rulegen", "templates")
    diff = hashlib.sha256(git("diff", "HEAD", "--", "rulegen", "templates").encode())
    return {"commit": commit or "unknown", "dirty": bool(dirty),
            "dirty_files": dirty.splitlines()[:50],
            "diff_sha256": diff.hexdigest() if dirty else ""}


def tree_hash(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


@contextlib.contextmanager
def cleanup(work: Path, keep: bool) -> Iterator[None]:
    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        for p in list(LIVE):
            stop_process(p, 30)
        signal.signal(signal.SIGTERM, old)
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def bench_size(n: int, rulesets: list[str], args: argparse.Namespace, work: Path,
               exporter: Exporter, results: dict[str, Any], minutes: float) -> None:
    log(f"{n} services")
    wdir = work / f"n{n}"
    wdir.mkdir()
    fleet = Fleet(n, t_end=int(time.time()) // 60 * 60)
    inv = wdir / "inventory.yaml"
    inv.write_text(fleet.inventory())
    out = wdir / "rulegen-out"
    # the real CLI, from the snapshot of its source: `python -m` puts the working directory
    # first on sys.path, so it runs there (from the checkout it would import the checkout's)
    cmd = [sys.executable, "-m", "rulegen"]
    env = {**os.environ, "PYTHONPATH": str(args.rulegen_snapshot)}
    t0 = time.monotonic()
    text = run([*cmd, "generate", str(inv), "--out", str(out)], 1800, "rulegen generate",
               env=env, cwd=args.rulegen_snapshot)
    where = run([cmd[0], "-c", "import rulegen; print(rulegen.__file__)"], 60,
                "rulegen location", env=env, cwd=args.rulegen_snapshot).strip()
    if not where.startswith(str(args.rulegen_snapshot)):
        raise SystemExit(f"rulegen came from {where}, not from {args.rulegen_snapshot}")
    results["rulegen_generate_output"] = text.strip()[-500:]
    files = sorted((out / "rules").rglob("*.yml"))
    gen = RuleSet("generated", files, load_groups(files, args.eval_s))
    log(f"  rulegen generate: {len(files)} files, {len(gen.groups)} groups, {gen.rules} rules "
        f"({time.monotonic() - t0:.1f} s)")
    missing = dangling(gen.groups)
    if missing:
        log(f"  WARNING: the generated rules read {', '.join(missing)}, which no rule records")
        results.setdefault("dangling", {})[n] = missing
    results.setdefault("rules_sha256_by_size", {})[n] = tree_hash(files, out)
    results["rules_sha256"] = results["rules_sha256_by_size"][n]
    results["rules_example"] = {  # what was measured: two services and the shared files
        str(f.relative_to(out)): f.read_text() for f in files
        if f.stem in (fleet.name(0), fleet.name(1)) or not f.stem.startswith("svc-")}
    seed_groups = load_groups([SEED], args.eval_s)
    (wdir / "seed").mkdir()
    seed_file = wdir / "seed" / "seed_rules.yml"
    write_rule_file(seed_file, seed_groups, interval=args.eval_s)
    seed = RuleSet("seed", [seed_file], load_groups([seed_file], args.eval_s))
    sets = {"idle": RuleSet("idle", [], []), "seed": seed, "generated": gen}
    for name in PROTOTYPES:
        if name in ("classes", *SLOW_EVALUATION) and name in rulesets:  # layout: classes
            inv_c = wdir / f"inventory-{name}.yaml"
            text = fleet.inventory().replace("output: {tests: false}",
                                             "output: {tests: false, layout: classes}")
            if name in SLOW_EVALUATION:
                text = text.replace("defaults:\n", "defaults:\n  evaluation_interval: "
                                    f"{SLOW_EVALUATION[name]}\n")
            inv_c.write_text(text)
            out_c = wdir / f"rulegen-out-{name}"
            run([*cmd, "generate", str(inv_c), "--out", str(out_c)], 1800,
                "rulegen generate (layout: classes)", env=env, cwd=args.rulegen_snapshot)
            class_files = write_renamed(sorted((out_c / "rules").rglob("*.yml")), wdir / name,
                                        PROTOTYPES[name])
        elif name in rulesets:
            class_files = write_classes(files, wdir / name, slopes=name == "classes-slopes",
                                        prefix=PROTOTYPES[name])
        if name in rulesets:
            sets[name] = RuleSet(name, class_files, load_groups(class_files, args.eval_s))
            log(f"  {name}: {len(class_files)} files, {sets[name].rules} rules")
            results.setdefault("classes_example", {}).update({
                str(f.relative_to(wdir)): f.read_text() for f in class_files
                if f.stat().st_size < 200_000})

    data = wdir / "data"
    promtool = args.prometheus_bin / "promtool"
    info: dict[str, Any] = {"size": n, "leaking": fleet.leaking}
    raw_om = wdir / "history.om"
    info["history"] = write_history(fleet, raw_om, args.history_s)
    exporter.fleet = fleet

    def make_prom(tag: str, rule_files: list[str] | None = None,
                  data_dir: Path = data) -> Prometheus:
        return Prometheus(args.prometheus_bin, data_dir, wdir, tag, exporter.port,
                          args.scrape_s, args.eval_s, rule_files or [])

    start = fleet.t_end - args.history_s
    has_recording = any(r.kind == "record" for g in gen.groups for r in g.rules)
    by_query = has_recording and args.rules_backfill == "query"
    if by_query:
        recording = [g for rs in sets.values() if rs.name != "seed" for g in rs.groups]
        info["rules_backfill"] = backfill_recorded_by_query(
            recording, raw_om, start, fleet.t_end, lambda tag, d: make_prom(tag, data_dir=d),
            promtool, wdir)
    head = split_head(raw_om, fleet.t_end - args.head_s) if args.head_s else None
    info["rules_backfill" if by_query else "history"]["import_s"] = import_openmetrics(
        promtool, raw_om, data)
    if has_recording and not by_query:
        info["rules_backfill"] = backfill_rules(
            gen.groups, start, fleet.t_end, lambda tag: make_prom(tag), promtool, data,
            wdir, args.eval_s)
    raw_om.unlink()
    if head is not None:
        info["head_catch_up_s"] = catch_up(head, fleet.t_end, lambda: Prometheus(
            args.prometheus_bin, data, wdir, "head", 0, args.scrape_s, args.eval_s, [],
            ["--web.enable-remote-write-receiver"]))
        info["head"] = args.head
    metas = block_metas(data)
    info["blocks"] = len(metas)
    info["overlapping_blocks"] = overlapping(metas)
    results["fleets"].append(info)
    for name in rulesets:
        results["runs"].append(one_run(sets[name], fleet, make_prom, args, minutes, gen.groups))
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    exporter.fleet = None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="50,200", help="fleet sizes (services), comma-separated")
    ap.add_argument("--big", type=int, default=0,
                    help="then the generated rules (with --classes the class layouts too, less "
                         "--skip) at this many services, without idle or seed (e.g. 1000)")
    ap.add_argument("--prometheus-bin", type=Path, default=ROOT / ".tools/prometheus-2.42/bin",
                    help="directory with prometheus and promtool")
    ap.add_argument("--minutes", type=float, default=2.0,
                    help="measuring window of each run, in minutes (rounded to whole slices)")
    ap.add_argument("--big-minutes", type=float, default=6.0,
                    help="measuring window of the --big run, in minutes")
    ap.add_argument("--eval-interval", default="1m",
                    help="global evaluation_interval; the seed group's interval is set to it")
    ap.add_argument("--scrape-interval", default="1m")
    ap.add_argument("--history", default="26h", help="backfilled history (1-minute samples)")
    ap.add_argument("--head", default="0s", metavar="DURATION",
                    help="the newest part of the history that goes into Prometheus's head "
                    "(by remote write, oldest first, before the runs) instead of blocks, as "
                    "on a live server, which holds its newest 2-3 h in memory: e.g. 2h "
                    "(0s: all of it in blocks, the default)")
    ap.add_argument("--query-cpu", type=int, default=20, metavar="N",
                    help="after the window, run each rule's expression N times in a row as an "
                    "instant query and report Prometheus's CPU per query, less that of a "
                    "trivial query (0: off)")
    ap.add_argument("--samples-max", type=int, default=500,
                    help="largest fleet whose generated rules are all run with stats=all")
    ap.add_argument("--rules-backfill", choices=("query", "promtool"), default="query",
                    help="how the recording rules' history is made: range queries written as "
                         "OpenMetrics and imported with the raw history (default), or "
                         "`promtool tsdb create-blocks-from rules` (one block per rule and "
                         "block range, compacted by Prometheus before measuring)")
    ap.add_argument("--rulegen-src", type=Path,
                    help="generate with the rulegen package and templates in this directory "
                         "(e.g. `git archive <commit> rulegen templates | tar -x -C DIR`) "
                         "instead of this checkout's")
    ap.add_argument("--classes", action="store_true",
                    help="also run rulegen's class layout (output.layout: classes) and the "
                         "prototype with recorded slopes (bench/class_rules.py) after the "
                         "generated rules, and compare the alerts they raise")
    ap.add_argument("--json", type=Path, help="write the raw results here")
    ap.add_argument("--skip", action="append", default=[], metavar="RULESET",
                    choices=("generated", *PROTOTYPES, "seed", "idle"),
                    help="leave this rule set out of the measured runs (repeatable; e.g. to "
                    "profile one layout over a long window); a run without seed or idle "
                    "reports no ratio or net CPU")
    ap.add_argument("--pprof", type=Path, metavar="DIR",
                    help="also take Prometheus's CPU profile of each measured window into DIR "
                    "(<size>-<rule set>.pprof; read with `go tool pprof -top FILE`); the "
                    "profiler's own CPU is in the figures then")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the temporary directory goes (default: the system's)")
    args = ap.parse_args()
    args.eval_s = seconds(args.eval_interval)
    args.scrape_s = seconds(args.scrape_interval)
    args.history_s = seconds(args.history)
    args.head_s = seconds(args.head)
    if args.head_s and args.rules_backfill != "query":
        raise SystemExit("--head needs --rules-backfill query")
    args.prometheus_bin = args.prometheus_bin.resolve()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    for tool in ("prometheus", "promtool"):
        if not (args.prometheus_bin / tool).is_file():
            raise SystemExit(f"{args.prometheus_bin / tool} not found (make bootstrap)")
    version = run([str(args.prometheus_bin / "prometheus"), "--version"], 60,
                  "prometheus --version").splitlines()[0]
    if args.rulegen_src:
        args.rulegen_src = args.rulegen_src.resolve()
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "prometheus": version,
        "git": git_info(args.rulegen_src), "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "eval_s": args.eval_s, "scrape_s": args.scrape_s, "history": args.history,
        "minutes": args.minutes, "sizes": sizes, "big": args.big, "fleets": [], "runs": [],
        "rules_sha256": ""}
    log(f"{version}; rulegen at {ref(results['git'])}"
        f"{' (uncommitted changes in rulegen/ or templates/)' if results['git']['dirty'] else ''}")
    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="rulegen-cost-", dir=args.workdir))
    exporter = Exporter()
    try:
        with cleanup(work, args.keep):
            # rulegen/ and templates/ as they are now: every size gets the same rules even if
            # the checkout changes while this runs
            args.rulegen_snapshot = work / "rulegen-src"
            for part in ("rulegen", "templates"):
                shutil.copytree((args.rulegen_src or ROOT) / part,
                                args.rulegen_snapshot / part,
                                ignore=shutil.ignore_patterns("__pycache__"))
            for n in sizes:
                # generated first: its recorded series continue their backfilled history
                # without a gap (no rule records them while the others run)
                bench_size(n, [x for x in ["generated", *(PROTOTYPES if args.classes else ()),
                                           "seed", "idle"] if x not in args.skip],
                           args, work, exporter, results, args.minutes)
            if args.big:
                bench_size(args.big, [x for x in ["generated",
                                                  *(PROTOTYPES if args.classes else ())]
                                      if x not in args.skip],
                           args, work, exporter, results, args.big_minutes)
    finally:
        exporter.close()
    results["seconds"] = time.monotonic() - t_start
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print(report(results, args.eval_s))
    print(f"\n(whole run: {results['seconds'] / 60:.1f} minutes)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: Prometheus stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)
