"""The detection benchmark: the scenario corpus (bench/scenarios.py) run through promtool against
the generated rules of every runtime x convention x limit source.

Run: `PYTHONPATH=. .venv/bin/python bench/detection.py [--promtool PATH] [--quick]
[--markdown docs/detection.md] [--jobs N] [--only SUBSTR] [--scenario SUBSTR]
[--layout service|classes] [--evaluation-interval 1m] [--reuse]`. Prints the tables (and writes
them to FILE with --markdown) and a summary line "N of M expectations met"; exits 0 whatever
the expectations say (it is a benchmark). `--layout classes` compiles the inventories with
`output.layout: classes`, judges those rules, and also runs the per-service rules and lists
every scenario run whose alerts (first firing of each in each span) differ between the two.
`--evaluation-interval 8m` gives every service that `evaluation_interval` and steps its test
file at it, as rulegen's own tests do (docs/families.md).

Which scenarios run where: the whole corpus on every runtime x convention with the cadvisor
limit; the scenarios marked `everywhere` (the limit-sensitive ones: steady GC, restart and
deploy warm-ups, the fast and 10x leaks, the declared 2h GC cycle, telemetry loss) also on
every other limit source (kube-state-metrics, otel-k8s, docker-stats, static, runtime, none),
and the leak rates on `none` too. `--quick`: one convention per runtime, cadvisor only, the
whole corpus. About 30 CPU-seconds of promtool per full-corpus combination, 6 per other one.

How: for each combination an inventory of the services the corpus needs ("app", where most
scenarios run side by side, and one service per group of scenarios whose alerts are about the
whole service or that need an inventory setting of their own), with `output: {tests: false}`,
is compiled with rulegen. Every scenario's series get the labels the combination's rules
select: `job=<service>`, the catalog's matchers, and the scenario's identity in `instance` and
in the pod (or container) label the limit join uses, so each scenario has its own limit series.
A signal whose metric no rule file of the service names is not fed (rules that read it would
be silent for want of it, and every other series costs promtool time). One promtool test group
per service runs all its scenarios; its rule_files are the service's own rule file and every
generated rule file of no other service (shared files, e.g. a limit recorded for the fleet).
The groups assert that, for consecutive spans (from, to] of at most 2h between the times the
judging needs,

    min_over_time(timestamp(ALERTS{alertstate="firing"})[<to - from>:1m])

evaluated at `to` is empty; promtool prints what it got, the first firing time of every alert in
the span, and each alert is given to the scenario whose identity one of its labels carries (or,
for an alert about the whole service, to every scenario of that service). Spans are short
because promtool refuses a query that would hold too many samples.

On the cadvisor combinations a peer rule (PEER: a simple published fixed-threshold rule) runs
in the same groups; its alert is judged apart, by the same expectations, and compared with
rulegen's in its own section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import scenarios as sc  # noqa: E402

from rulegen import catalog, promtool, regex, rulefile  # noqa: E402
from rulegen import layout as layout_  # noqa: E402
from rulegen.errors import UserError  # noqa: E402
from rulegen.generate import compile_inventory  # noqa: E402
from rulegen.promql import label_list, label_replace_chain  # noqa: E402
from rulegen.promql import selector as promql_selector  # noqa: E402
from rulegen.synth import Sample, Series, collections, encode, selector  # noqa: E402
from rulegen.units import format_duration as dur  # noqa: E402
from rulegen.units import parse_duration  # noqa: E402

WORK = HERE / "out" / "detection"
# --evaluation-interval: each service's `evaluation_interval`, and the step of its test file;
# 60 (the default) writes none, as a service without one
EVAL_S = 60
SOURCES = ("cadvisor", "kube-state-metrics", "otel-k8s", "docker-stats", "static", "runtime",
           "none")
QUICK = {"go": "prometheus", "nodejs": "prometheus", "python": "prometheus",
         "jvm": "otel-semconv", "dotnet": "prometheus", "process": "otel-legacy"}
QUICK_SOURCE = FULL_SOURCE = "cadvisor"
SPAN = 2 * 3600  # the longest span one first-firing expression covers
BACKGROUND = "background"
DETAIL = ("go", "prometheus", "cadvisor")  # the representative combination
MEMORY = ("heap", "resident", "runtime_used")
COUNTS = ("goroutines", "threads", "handles")
NAMESPACE, CONTAINER = "bench", "app"
# The peer: a simple published rule set, fixed thresholds on usage against the limit and no
# forecast: awesome-prometheus-alerts' cAdvisor rule ContainerHighMemoryUsage
# (https://samber.github.io/awesome-prometheus-alerts/rules#docker-containers):
#   (sum(container_memory_working_set_bytes{name!=""}) BY (instance, name)
#     / sum(container_spec_memory_limit_bytes > 0) BY (instance, name) * 100) > 80, for: 2m
# Run on the cadvisor combinations, next to rulegen's rules in the same promtool groups, with
# the combination's resident signal as the usage and its container labels as the `BY`. It is
# judged as a MemoryNearLimit would be (PEER_AS).
PEER, PEER_AS = "ContainerHighMemoryUsage", "MemoryNearLimit"
PEER_SOURCE = "cadvisor"

# The application-side labels of each limit source and the inventory's `join` (None: the
# preset's own label names on both sides). cadvisor is joined across different names, as in
# the OTel Demo: the app series carry k8s_* labels, the limit series namespace/pod/container.
JOINS: dict[str, dict[str, str] | None] = {
    "cadvisor": {"k8s_namespace_name": "namespace", "k8s_pod_name": "pod",
                 "k8s_container_name": "container"},
    "kube-state-metrics": None, "otel-k8s": None, "docker-stats": None,
}


@dataclass(frozen=True)
class Combo:
    runtime: str
    convention: str
    source: str
    full: bool  # the whole corpus (else only the scenarios marked `everywhere`)

    @property
    def key(self) -> str:
        return f"{self.runtime}/{self.convention}/{self.source}"

    @property
    def has_limit(self) -> bool:
        return self.source != "none"

    @property
    def sees_collections(self) -> bool:
        """The convention shows when the runtime collects: a major-collection counter
        (major_gcs), or a heap metric reported after each collection (post_gc)."""
        sigs = catalog.load().signals[(self.runtime, self.convention)]
        return "major_gcs" in sigs or ("heap" in sigs and sigs["heap"].post_gc)


@dataclass
class Job:
    """One promtool test file: one service of one combination."""

    combo: Combo
    service: str
    path: Path
    scenarios: list[sc.Scenario]
    spans: dict[str, tuple[int, int]]  # expression key -> the span (from, to) it covers
    rule_files: list[Path] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    reused: bool = False  # the output of an earlier run (--reuse)


@dataclass
class Outcome:
    """What one scenario did under one combination: for each alert, the first firing time in
    each span of the test group that ended by the scenario's end."""

    end: int
    times: dict[str, list[int]] = field(default_factory=dict)  # alertname -> first firings

    def fired(self, frm: int, names: Iterable[str] | None = None) -> dict[str, int]:
        """The first firing at or after `frm` (a span boundary) of each alert (in `names`;
        None: every alert of rulegen's, not the peer's)."""
        out = {}
        for a, ts in self.times.items():
            if (a == PEER) if names is None else (a not in names):
                continue
            later = [t for t in ts if frm <= t <= self.end]
            if later:
                out[a] = min(later)
        return out


    def peer(self) -> Outcome:
        """The peer's alert alone, under the name it is judged as."""
        return Outcome(self.end, {PEER_AS: self.times[PEER]} if PEER in self.times else {})


# ------------------------------------------------------------------------ combinations


def combinations(quick: bool) -> tuple[list[Combo], list[str]]:
    """Every runtime x convention x source that can be expressed, and why the others cannot.
    The full corpus runs on one source per runtime x convention (cadvisor); the other sources
    run the scenarios marked `everywhere` (those about limits, deploys and telemetry)."""
    cat = catalog.load()
    combos, skipped = [], []
    for rt in cat.runtimes:
        convs = [QUICK[rt]] if quick else cat.conventions_for(rt)
        for conv in convs:
            sigs = cat.signals[(rt, conv)]
            for src in (QUICK_SOURCE,) if quick else SOURCES:
                if src == "runtime" and "runtime_limit" not in sigs:
                    skipped.append(f"{rt}/{conv}")
                    continue
                combos.append(Combo(rt, conv, src, quick or src == FULL_SOURCE))
    return combos, skipped


def limit_yaml(src: str) -> str:
    if src == "none":
        return "{source: none}"
    if src == "static":
        return f"{{source: static, size: {sc.LIMIT}}}"
    if src == "runtime":
        return "{source: runtime}"
    join = JOINS[src]
    j = "" if join is None else ", join: " + json.dumps(join)
    return f"{{source: metric, metric: {src}{j}}}"


def inventory(combo: Combo, services: dict[str, str | None], layout: str = "service") -> str:
    lines = ["version: 1",
             "defaults: {owner: bench, scrape_interval: 1m}",
             f"output: {{tests: false, layout: {layout}}}",
             "services:"]
    for name, gc_period in services.items():
        lines.append(f"  - name: {name}")
        lines.append(f"    runtime: {combo.runtime}")
        lines.append(f"    convention: {combo.convention}")
        lines.append(f"    memory_limit: {limit_yaml(combo.source)}")
        if gc_period:
            lines.append(f"    gc_period: {gc_period}")
        if EVAL_S != 60:
            lines.append(f"    evaluation_interval: {dur(evaluation_s(combo, gc_period))}")
    return "\n".join(lines) + "\n"


def evaluation_s(combo: Combo, gc_period: str | None) -> int:
    """A service's evaluation interval under --evaluation-interval: the one given, as a user
    writes it in `defaults:` (rulegen takes the troughs over at least the interval). Before
    rulegen took the troughs that way (2026-12-04), it refused an interval longer than a
    trough period and this was capped at the service's gc_period: the tables at 4m
    (docs/detection-4m*.md) ran the scenarios with a shorter declared gc_period at that
    period."""
    return EVAL_S


# ------------------------------------------------------------------------------- labels


def satisfy(matchers: Sequence[tuple[str, str, str]], labels: dict[str, str]) -> dict[str, str]:
    """`labels` plus a value for every matcher's label (catalog matchers: =, !=, =~, !~)."""
    out = dict(labels)
    for name, op, value in matchers:
        if name in out:
            continue
        if op == "=":
            out[name] = value
        elif op == "=~":
            out[name] = regex.example(value) or value
        elif op in ("!=", "!~"):
            out[name] = next(c for c in ("app", "main", "x")
                             if not (c == value if op == "!=" else regex.fullmatch(value, c)))
    return out


class Labeller:
    """The labels of a combination's series (app signals and limit series), and which signals
    the combination's rules read (a metric named in none of its rule files is not fed)."""

    def __init__(self, combo: Combo, rules_text: str) -> None:
        self.combo = combo
        cat = catalog.load()
        self.signals = {name: sig for name, sig in cat.signals[(combo.runtime,
                                                               combo.convention)].items()
                        if re.search(rf"(?<![\w:]){re.escape(sig.metric)}(?![\w:])",
                                     rules_text)}
        self.limit_def = cat.limit_sources.get(combo.source)
        self.join = (None if self.limit_def is None else
                     JOINS[combo.source] or {x: x for x in self.limit_def.labels})

    def app_labels(self, service: str, ident: str) -> dict[str, str]:
        labels = {"job": service, "instance": ident}
        if self.join is None:  # static, runtime, none: a pod label all the same
            labels["k8s_pod_name"] = ident
            return labels
        for app in self.join:
            labels[app] = self.identity_value(app, ident)
        return labels

    @staticmethod
    def identity_value(label: str, ident: str) -> str:
        if "pod" in label or label == "container_name":  # docker-stats: the container is it
            return ident
        return NAMESPACE if "namespace" in label else CONTAINER

    def limit_labels(self, ident: str) -> dict[str, str]:
        assert self.limit_def is not None and self.join is not None
        labels = {lim: self.identity_value(app, ident) for app, lim in self.join.items()}
        return satisfy(self.limit_def.matchers, labels)

    def signal_series(self, name: str, base: dict[str, str]) -> tuple[str, dict[str, str]] | None:
        sig = self.signals.get(name)
        if sig is None:
            return None
        labels = satisfy(sig.matchers, base)
        for lab in sig.sum_without:  # a label its matcher selects keeps the matched value
            labels.setdefault(lab, "a")
        return sig.metric, labels


# ------------------------------------------------------------------------------- series


def masked(values: Sequence[Sample], like: Sequence[Sample], until_end: bool = False) -> Series:
    """`values` where `like` has a sample (None/STALE where it has none); `until_end`: from the
    first sample of `like` to the end."""
    if until_end:
        first = next((i for i, v in enumerate(like) if isinstance(v, float)), len(like))
        return [None if i < first else v for i, v in enumerate(values)]
    return [v if isinstance(w, float) else w for v, w in zip(values, like, strict=True)]


def fit(values: Sequence[Sample], n: int) -> Series:
    out = list(values[:n])
    return out + [None] * (n - len(out))


def pod_series(lab: Labeller, s: sc.Scenario, pod: sc.Pod, service: str
               ) -> list[tuple[str, str]]:
    """(selector, values) of every series one pod of a scenario has."""
    n = sc.n_of(s.end)
    ident = s.id + pod.suffix
    base = lab.app_labels(service, ident)
    out: dict[str, str] = {}

    def put(got: tuple[str, dict[str, str]] | None, values: Sequence[Sample]) -> None:
        if got is not None:
            sel = selector(*got)
            out.setdefault(sel, encode(values))

    if pod.memory is not None:
        mem = fit(pod.memory, n)
        for name in MEMORY:
            sig = lab.signals.get(name)
            put(lab.signal_series(name, base), sc.after_gc(mem) if sig and sig.post_gc else mem)
        put(lab.signal_series("major_gcs", base), collections(mem))
        const_limit = [float(sc.LIMIT)] * n
        put(lab.signal_series("runtime_limit", base), masked(const_limit, mem))
        if lab.limit_def is not None:  # an old pod's limit goes with it
            put((lab.limit_def.metric, lab.limit_labels(ident)),
                masked(const_limit, mem, until_end=not pod.suffix))
    for kind, vals in pod.counts.items():
        put(lab.signal_series(kind, base), fit(vals, n))
    return list(out.items())


def identities(s: sc.Scenario) -> set[str]:
    return {s.id + p.suffix for p in s.pods}


def points_of(s: sc.Scenario) -> set[int]:
    """The times the judging needs as span boundaries: start, end, each `from`."""
    out = {0, s.start, s.end}
    for e in s.expects:
        if e.kind == "silent":
            out.add(e.frm or 0)
    return out


def background(group: list[sc.Scenario], lab: Labeller) -> sc.Scenario | None:
    """A pod with steady count series for the whole group, so the service never lacks a count
    signal its rules watch while its memory scenarios run (not reported); but for a signal
    every scenario of the group gives itself (scrape gaps and telemetry loss: all of a
    service's series miss together)."""
    kinds = [k for k in COUNTS if k in lab.signals
             and not all(k in p.counts for s in group for p in s.pods)]
    if not kinds:
        return None
    end = max(s.end for s in group)
    n = sc.n_of(end)
    return sc.Scenario(BACKGROUND, "background", "steady counts", 0, end,
                       (sc.Pod("", None, {k: [float(sc.COUNT_BASE[k])] * n for k in kinds}),),
                       ())


# ------------------------------------------------------------------------------ test files


def build_jobs(combo: Combo, scenarios: list[sc.Scenario], work: Path, layout: str = "service"
               ) -> tuple[list[Job], str | None]:
    """Compile the combination's inventory, write its rule files and one test file per
    service; or the reason it cannot be expressed. With `layout` classes a service's own
    rule files are the class file that holds it and that class's members file."""
    cat = catalog.load()
    sigs = cat.signals[(combo.runtime, combo.convention)]
    mine = [s for s in scenarios if (s.signal == "memory" or s.signal in sigs)
            and (combo.full or s.everywhere or (s.on_none and not combo.has_limit))]
    services: dict[str, str | None] = {}
    for s in mine:
        services.setdefault(s.service, s.gc_period)
    d = work / combo.key.replace("/", "__")
    if (d / "out").exists():  # the rules of an earlier run (saved promtool output stays)
        shutil.rmtree(d / "out")
    d.mkdir(parents=True, exist_ok=True)
    inv = d / "inventory.yaml"
    inv.write_text(inventory(combo, services, layout))
    try:
        files = compile_inventory(inv, d / "out").files
    except UserError as exc:
        return [], " ".join(str(exc).split())[:300]
    rules = {p: t for p, t in files.items() if p.startswith("rules/") and p.endswith(".yml")}
    for p, t in rules.items():
        f = d / "out" / p
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(t)
    peer = [write_peer(combo, d / "peer.yml")] if combo.source == PEER_SOURCE else []
    own = {svc: [p for p in rules if Path(p).stem == svc] for svc in services}
    for members in filter(layout_.is_members_file, rules):
        for svc in layout_.class_members(rules[members]):
            own[svc] = [members.removesuffix(".members.yml") + ".yml", members]
    owned = {p for ps in own.values() for p in ps}
    shared = [p for p in rules if p not in owned and not layout_.is_members_file(p)
              and not layout_.is_class_file(p)]
    jobs = []
    for svc in services:
        if not own[svc]:
            return [], f"no rule file for service {svc} among {sorted(rules)}"
        files_ = own[svc] + shared
        lab = Labeller(combo, "\n".join(rules[p] for p in files_))
        group = [s for s in mine if s.service == svc
                 and (s.signal == "memory" or s.signal in lab.signals)]
        # the limit's and members' groups before the service's own (rulegen/testgen.py)
        first = [p for p in files_ if p not in own[svc] or layout_.is_members_file(p)]
        order = [g.name for p in first + [p for p in files_ if p not in first]
                 for g in rulefile.parse(rules[p]).groups]
        jobs.append(write_test(combo, svc, group, [d / "out" / p for p in files_] + peer,
                               lab, d / f"{svc}.test.yml",
                               evaluation_s(combo, services[svc]), order))
    return jobs, None


def write_peer(combo: Combo, path: Path) -> Path:
    """The peer rule (PEER) in the combination's terms."""
    cat = catalog.load()
    sigs = cat.signals[(combo.runtime, combo.convention)]
    used = sigs.get("resident") or sigs["heap"]
    lim = cat.limit_sources[combo.source]
    join = JOINS[combo.source] or {x: x for x in lim.labels}
    by = label_list(sorted(join))
    usage = f"sum by ({by}) ({promql_selector(used.metric, used.matchers)})"
    renamed = label_replace_chain(f"{promql_selector(lim.metric, lim.matchers)} > 0",
                                  sorted(join.items()))
    expr = f"({usage} / on ({by}) sum by ({by}) ({renamed}) * 100) > 80"
    path.write_text("# bench/detection.py: the peer rule set (PEER)\ngroups:\n"
                    "  - name: peer\n    rules:\n"
                    f"      - alert: {PEER}\n        expr: {json.dumps(expr)}\n"
                    "        for: 2m\n")
    return path


def spans(points: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive spans between the points, none longer than SPAN (promtool refuses a query
    that would hold too many samples: one span's first firings per alert)."""
    pts = sorted(set(points))
    out = []
    for a, b in zip(pts, pts[1:], strict=False):
        while b - a > SPAN:
            out.append((a, a + SPAN))
            a += SPAN
        out.append((a, b))
    return out


def write_test(combo: Combo, svc: str, group: list[sc.Scenario], rule_files: list[Path],
               lab: Labeller, path: Path, eval_s: int = 60, order: Sequence[str] = ()) -> Job:
    bg = background(group, lab)
    runs = group + ([bg] if bg else [])
    pts = set().union(*(points_of(s) for s in group))
    keyed = {f"{combo.key}/{svc}/{a}-{b}": (a, b) for a, b in spans(pts)}
    out = [f"# bench/detection.py: {combo.key}, service {svc}: "
           + ", ".join(s.id for s in group),
           "rule_files:"]
    out += [f"  - {json.dumps(str(p))}" for p in rule_files]
    out += [f"evaluation_interval: {dur(eval_s)}"]
    if eval_s != 60:
        out += ["group_eval_order:", *(f"  - {json.dumps(g)}" for g in order)]
    out += ["tests:",
            f"  - name: {json.dumps(f'{combo.key}/{svc}')}",
            "    interval: 1m",
            "    input_series:"]
    for s in runs:
        out.append(f"      # {s.id}: {s.title}")
        for pod in s.pods:
            for sel, values in pod_series(lab, s, pod, svc):
                out.append(f"      - series: {json.dumps(sel)}")
                out.append(f"        values: {json.dumps(values)}")
    out.append("    promql_expr_test:")
    for key, (a, b) in keyed.items():
        out.append("      - expr: " + json.dumps(
            f'min_over_time(timestamp(ALERTS{{alertstate="firing"}})[{dur(b - a)}:1m])'
            f"  # {key}"))
        out.append(f"        eval_time: {dur(b)}")
        out.append("        exp_samples: []")
    path.write_text("\n".join(out) + "\n")
    return Job(combo, svc, path, group, keyed, rule_files)


# ------------------------------------------------------------------------------- running


EXPR = re.compile(r'expr: ".*?# (?P<key>[^"]+)", time: [^,]*,?(?P<err>.*)$')
GOT = re.compile(r"^\s+got: (?P<got>.*)$")
SERIES = re.compile(r"\{(?P<labels>[^{}]*)\} (?P<v>[-+0-9.eEInfNa]+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def run(pt: promtool.Promtool, job: Job, reuse: bool) -> Job:
    """promtool's output for the job's test file; with `reuse`, the output saved by an earlier
    run of the same promtool on the same test file and rule files (`<file>.out`), if there is
    one."""
    text = job.path.read_text()
    rules = "".join(p.read_text() for p in job.rule_files)
    stamp = hashlib.sha256(f"{pt.version_text}\n{text}\n{rules}".encode()).hexdigest()
    saved = job.path.with_suffix(".out")
    if reuse and saved.exists():
        first, _, rest = saved.read_text().partition("\n")
        got, _, seconds = first.partition(" ")
        if got == stamp:
            job.output, job.reused = rest, True
            job.seconds = float(seconds or 0)
            return job
    t0 = time.perf_counter()
    res = subprocess.run([pt.path, "test", "rules", str(job.path)], capture_output=True,
                         text=True, timeout=3600)
    job.seconds = time.perf_counter() - t0
    job.output = res.stdout + res.stderr
    saved.write_text(f"{stamp} {job.seconds:.1f}\n{job.output}")
    return job


def parse(job: Job) -> tuple[dict[str, list[tuple[dict[str, str], float]]], list[str]]:
    """Expression key -> (labels, value) of every series promtool got; and errors."""
    got: dict[str, list[tuple[dict[str, str], float]]] = {}
    errors = []
    key = None
    for line in job.output.splitlines():
        if m := EXPR.search(line):
            key = m["key"].strip()
            got.setdefault(key, [])
            if "err:" in m["err"]:
                errors.append(f"{key}: {m['err'].strip()}")
        elif (m := GOT.match(line)) and key is not None:
            for sm in SERIES.finditer(m["got"]):
                got[key].append((dict(LABEL.findall(sm["labels"])), float(sm["v"])))
            key = None
    return got, errors


def outcomes(job: Job) -> tuple[dict[str, Outcome], str | None]:
    got, errors = parse(job)
    res = {s.id: Outcome(s.end) for s in job.scenarios}
    if errors:
        return res, "; ".join(errors)[:400]
    if "SUCCESS" not in job.output and not got:
        return res, " ".join(job.output.split())[:400] or "promtool printed nothing"
    owner: dict[str, str] = {i: s.id for s in job.scenarios for i in identities(s)}
    owner[BACKGROUND] = ""
    for key, (a, _) in job.spans.items():
        for labels, v in got.get(key, []):
            name = labels.get("alertname", "?")
            if labels.get("service", job.service) != job.service:
                continue  # another member of the service's rule class (layout classes)
            hits = {owner[x] for x in labels.values() if x in owner}
            if not hits:  # an alert about the whole service
                hits = set(res)
            for sid in hits - {""}:
                res[sid].times.setdefault(name, []).append(max(int(v), a))
    return res, None


# ------------------------------------------------------------------------------- judging


@dataclass
class Verdict:
    expect: sc.Expect
    judged: bool
    met: bool
    note: str  # what happened, for the tables


def minutes(s: float) -> str:
    m = round(s / 60)
    return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m"


def judge(s: sc.Scenario, o: Outcome, combo: Combo) -> list[Verdict]:
    out = []
    leak = sc.LEAK_ALERTS
    for e in s.expects:
        judged = (e.kind != "info" and (combo.has_limit or not e.needs_limit)
                  and (combo.sees_collections or not e.needs_collections))
        if e.kind == "silent":
            frm = e.frm or 0
            bad = {a: t for a, t in o.fired(frm).items() if a not in e.allow}
            note = ", ".join(f"{a} at {minutes(t)}" for a, t in sorted(bad.items(),
                                                                        key=lambda x: x[1]))
            out.append(Verdict(e, judged, not bad, note or "silent"))
        elif e.kind == "fires":
            names = e.alerts or leak
            got = o.fired(s.start, names)
            if not got:
                out.append(Verdict(e, judged, False, "silent"))
                continue
            a, t = min(got.items(), key=lambda x: x[1])
            lat = t - s.start
            ok = True
            if e.within is not None:
                ok &= lat <= e.within
            if e.lead is not None and s.oom is not None:
                ok &= s.oom - t >= e.lead
            note = f"{a} after {minutes(lat)}"
            if s.oom is not None:
                note += f", {minutes(s.oom - t)} before the OOM"
            out.append(Verdict(e, judged, ok, note))
        else:
            got = o.fired(s.start, e.alerts or None)
            note = ", ".join(f"{a} after {minutes(t - s.start)}"
                             for a, t in sorted(got.items(), key=lambda x: x[1])) or "silent"
            out.append(Verdict(e, False, True, note))
    return out


# ------------------------------------------------------------------------------- report


def first_alert(s: sc.Scenario, o: Outcome, names: Sequence[str] | None = None
                ) -> tuple[str, int] | None:
    got = o.fired(s.start, names)
    return min(got.items(), key=lambda x: x[1]) if got else None


def cell(vs: list[Verdict]) -> str:
    judged = [v for v in vs if v.judged]
    if not judged:
        return "·"
    return "✓" if all(v.met for v in judged) else "✗"


def summary_cell(s: sc.Scenario, vlists: list[list[Verdict]], outs: list[Outcome],
                 left: bool = False, name: bool = True) -> str:
    """Over some combinations: ✓ every judged expectation met in all, ✗ k/n, · informational
    only; then the first alert and its median latency (`-`: none fired), with `left` the median
    time it left before the OOM."""
    if not vlists:
        return "n/a"
    oks = [all(v.met for v in vs if v.judged) for vs in vlists]
    judged = any(v.judged for vs in vlists for v in vs)
    mark = ("✓" if all(oks) else f"✗ {sum(oks)}/{len(oks)}") if judged else "·"
    firsts = [fa for o in outs if (fa := first_alert(s, o)) is not None]
    if not firsts:
        return mark + " -"
    lats = sorted(t - s.start for _, t in firsts)
    extra = (f" {'/'.join(sorted({short(a) for a, _ in firsts}))}" if name else "")
    extra += f" {minutes(lats[len(lats) // 2])}"
    if len(firsts) < len(outs):
        extra += f" ({len(firsts)}/{len(outs)})"
    if left and s.oom is not None:
        lefts = sorted(s.oom - t for _, t in firsts)
        extra += f", {minutes(lefts[len(lefts) // 2])} left"
    return mark + extra


def peer_section(ran: list[Combo], results: dict[str, dict[str, Outcome]],
                 corpus: list[sc.Scenario], verdicts: dict[tuple[str, str], list[Verdict]]
                 ) -> list[str]:
    """rulegen against the peer rule (PEER) on the combinations that ran both."""
    cs = [c for c in ran if c.source == PEER_SOURCE]
    if not cs:
        return []
    keys = {c.key for c in cs}
    ours = {k: vs for k, vs in verdicts.items() if k[0] in keys}
    theirs = {(c.key, s.id): judge(s, results[c.key][s.id].peer(), c)
              for c in cs for s in corpus if s.id in results[c.key]}
    count = {who: (sum(v.met for vs in d.values() for v in vs if v.judged),
                   sum(v.judged for vs in d.values() for v in vs))
             for who, d in (("rulegen", ours), ("peer", theirs))}
    by_id = {s.id: s for s in corpus}
    earlier = later = only_ours = only_theirs = 0
    for key, sid in ours:
        s = by_id[sid]
        if s.oom is None or s.oom > s.end:
            continue
        a = first_alert(s, results[key][sid])
        b = first_alert(s, results[key][sid].peer())
        if a and b:
            earlier += a[1] < b[1]
            later += a[1] > b[1]
        only_ours += bool(a and not b)
        only_theirs += bool(b and not a)
    lines = ["## Against a simple peer rule set", "",
             f"The peer: awesome-prometheus-alerts' `{PEER}` (usage over the container "
             "limit above 80% for 2m; no growth alert, no forecast), on the same series as "
             f"rulegen's rules, in the same promtool groups, on the {PEER_SOURCE} "
             f"combinations ({len(cs)}). It is judged as a `{PEER_AS}` would be: by the "
             "same expectations.", "",
             f"- **rulegen met {count['rulegen'][0]} of {count['rulegen'][1]} expectations, "
             f"the peer {count['peer'][0]} of {count['peer'][1]}.**",
             f"- Leaks that reach the limit within the series, over the combinations: rulegen "
             f"warned first {earlier} times, the peer {later} times; only rulegen warned "
             f"{only_ours} times, only the peer {only_theirs} times.", "",
             "Each cell as in the first table, over the combinations; for a leak, the median "
             "time left before the peaks reach the limit.", "",
             "| scenario | expected | rulegen | peer |", "|---|---|---|---|"]
    for s in corpus:
        keys = [c.key for c in cs if (c.key, s.id) in ours]
        if not keys:
            continue
        mine = summary_cell(s, [ours[(k, s.id)] for k in keys],
                            [results[k][s.id] for k in keys], left=True)
        peer = summary_cell(s, [theirs[(k, s.id)] for k in keys],
                            [results[k][s.id].peer() for k in keys], left=True, name=False)
        lines.append(f"| `{s.id}` | {md('; '.join(e.text for e in s.expects))} | {mine} | "
                     f"{peer} |")
    return lines + [""]


def report(combos: list[Combo], skipped: list[str], errors: dict[str, str],
           results: dict[str, dict[str, Outcome]], corpus: list[sc.Scenario],
           header: list[str], quick: bool) -> tuple[str, int, int]:
    lines = list(header)
    verdicts: dict[tuple[str, str], list[Verdict]] = {}
    for c in combos:
        if c.key in errors:
            continue
        for s in corpus:
            if s.id in results.get(c.key, {}):
                verdicts[(c.key, s.id)] = judge(s, results[c.key][s.id], c)
    all_v = [v for vs in verdicts.values() for v in vs if v.judged]
    met, total = sum(v.met for v in all_v), len(all_v)
    ran = [c for c in combos if c.key not in errors]
    lines += [f"**{met} of {total} expectations met** over {len(ran)} combinations "
              f"({len(corpus)} scenarios; a scenario about a count signal runs where the "
              "convention has that signal).", ""]

    # 1. scenario x runtime matrix
    runtimes = list(dict.fromkeys(c.runtime for c in ran))
    lines += ["## Scenarios x runtimes", "",
              "Per runtime, over its conventions and limit sources: ✓ every judged expectation "
              "met in every combination, ✗ k/n: met in k of n combinations, · informational "
              "only. Then the first alert and its latency after the behaviour starts (median "
              "over the combinations; `-`: none fired).", ""]
    lines.append("| scenario | expected | " + " | ".join(runtimes) + " |")
    lines.append("|---|---|" + "---|" * len(runtimes))
    for s in corpus:
        row = [f"`{s.id}`", "; ".join(e.text for e in s.expects)]
        for rt in runtimes:
            cs = [c for c in ran if c.runtime == rt and (c.key, s.id) in verdicts]
            row.append(summary_cell(s, [verdicts[(c.key, s.id)] for c in cs],
                                    [results[c.key][s.id] for c in cs]))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Alert abbreviations: " + ", ".join(f"{short(a)} {a}" for a in
                                                      (*sc.LEAK_ALERTS, sc.TELEMETRY)) + ".", ""]

    lines += peer_section(ran, results, corpus, verdicts)

    # 2. per combination
    lines += ["## Combinations", "",
              "Every runtime x convention x limit source: expectations met, and the scenarios "
              "that miss one (with what happened).", "",
              "| runtime | convention | limit | met | failing scenarios |", "|---|---|---|---|---|"]
    for c in combos:
        if c.key in errors:
            lines.append(f"| {c.runtime} | {c.convention} | {c.source} | error | "
                         f"{md(errors[c.key])} |")
            continue
        vs = [(sid, v) for (k, sid), vl in verdicts.items() if k == c.key for v in vl if v.judged]
        ok = sum(v.met for _, v in vs)
        fails = [f"`{sid}` ({md(abbreviate(v.note))})" for sid, v in vs if not v.met]
        lines.append(f"| {c.runtime} | {c.convention} | {c.source} | {ok}/{len(vs)} | "
                     + ("; ".join(fails) or "none") + " |")
    if skipped:
        lines += ["", f"Not expressible, so not run: the runtime limit source (`source: "
                  f"runtime`) for the {len(skipped)} runtime x convention pairs without a "
                  "runtime limit signal in the catalog (" + ", ".join(skipped) + ")."]
    lines.append("")

    # 3. GC cycles per runtime default
    gcs = [s for s in corpus if s.family == "GC cycle" and s.gc_period is None]
    lines += ["## GC cycles under each runtime's default gc_period", "",
              "Healthy GC sawtooth of each period, gc_period not set in the inventory. ✓ silent "
              "in every combination of the runtime, else the share of combinations that stay "
              "silent and the first alert; ✗ where that misses a judged expectation, · where "
              "it is not judged (a cycle longer than the window, on conventions that do not "
              "show when the runtime collects: declare gc_period there).", "",
              "| runtime | default gc_period | " + " | ".join(s.id.removeprefix("gc-")
                                                             for s in gcs) + " |",
              "|---|---|" + "---|" * len(gcs)]
    for rt in runtimes:
        row = [rt, DEFAULT_GC.get(rt, "?")]
        for s in gcs:
            cs = [c for c in ran if c.runtime == rt and (c.key, s.id) in verdicts]
            oks = [all(v.met for v in verdicts[(c.key, s.id)]) for c in cs]
            if all(oks):
                row.append("✓")
            else:
                fa = sorted({short(f[0]) for c in cs
                             if (f := first_alert(s, results[c.key][s.id])) is not None})
                missed = any(not v.met for c in cs for v in verdicts[(c.key, s.id)]
                             if v.judged)
                row.append(f"{'✗' if missed else '·'} {sum(oks)}/{len(oks)} "
                           f"({'/'.join(fa)})")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    # 4. leak rates: latency and time left, per limit source family
    rates = [s for s in corpus if s.id.startswith("leak-") or s.id == "daily-leak-day2"]
    pair = DETAIL[:2] if any((c.runtime, c.convention) == DETAIL[:2] for c in ran) else (
        (ran[0].runtime, ran[0].convention) if ran else DETAIL[:2])
    rep = [c for c in ran if (c.runtime, c.convention) == pair]
    lines += [f"## Leaks: latency and time left before the OOM ({pair[0]}, {pair[1]})", "",
              "First alert after the leak starts, and how long before the GC peaks reach the "
              "limit (the OOM) it came; `none` column: the growth alert alone. OOM: when the "
              "peaks reach the 1GiB limit, after the leak start (`>` : beyond the series).", "",
              "| scenario | OOM after | " + " | ".join(c.source for c in rep) + " |",
              "|---|---|" + "---|" * len(rep)]
    for s in rates:
        row = [f"`{s.id}`", minutes(s.oom - s.start) if s.oom else "not reached"]
        if s.oom and s.oom > s.end:
            row[1] += " (beyond the series)"
        for c in rep:
            o = results.get(c.key, {}).get(s.id)
            fa = first_alert(s, o) if o else None
            if fa is None:
                row.append("-" if o else "not run")
                continue
            txt = f"{short(fa[0])} {minutes(fa[1] - s.start)}"
            if s.oom and c.has_limit:
                txt += f", {minutes(s.oom - fa[1])} left"
            row.append(txt)
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    # 5. the 2h GC leak on every combination
    g2 = next((s for s in corpus if s.id == "leak-gc-2h"), None)
    if g2 is not None:
        srcs = [x for x in SOURCES if any(c.source == x for c in ran)]
        cat = catalog.load()
        lines += ["## The 2h GC leak on every combination", "",
                  f"`{g2.id}`: {md(g2.title)}. Each cell: the first of "
                  "MemoryLimitExhaustionForecast and MemoryNearLimit and how long before the "
                  "peaks reach the limit it fired (✓ at least 1h). *heap alone*: the convention "
                  "has no resident signal, so the limit alerts compare the heap.", "",
                  "| runtime | convention | " + " | ".join(srcs) + " |",
                  "|---|---|" + "---|" * len(srcs)]
        for rt, conv in dict.fromkeys((c.runtime, c.convention) for c in ran):
            heap_only = "resident" not in cat.signals[(rt, conv)]
            row = [rt, conv + (" (*heap alone*)" if heap_only else "")]
            for x in srcs:
                key = f"{rt}/{conv}/{x}"
                o = results.get(key, {}).get(g2.id)
                if o is None or key in errors:
                    row.append("n/a" if key not in errors else "error")
                    continue
                fa = first_alert(g2, o, sc.LIMIT_ALERTS)
                if not x or x == "none":
                    row.append("no limit")
                elif fa is None:
                    row.append("✗ silent")
                else:
                    left = (g2.oom or g2.end) - fa[1]
                    row.append(f"{'✓' if left >= 3600 else '✗'} {short(fa[0])} "
                               f"{minutes(left)} ahead")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")

    # 6. detail for the representative combination
    det = Combo(*DETAIL, True)
    if det.key in results and det.key not in errors:
        lines += [f"## Every scenario in detail: {det.key}", "",
                  "| scenario | what the series show | expected | fired (first time after the "
                  "series start) | latency after the behaviour starts | time left before the "
                  "OOM | result |", "|---|---|---|---|---|---|---|"]
        for s in corpus:
            o = results[det.key].get(s.id)
            if o is None:
                continue
            vs = verdicts[(det.key, s.id)]
            fired = ", ".join(f"{short(a)} {minutes(t)}" for a, t in
                              sorted(o.fired(0).items(), key=lambda x: x[1])) or "none"
            fa = first_alert(s, o)
            lat = minutes(fa[1] - s.start) if fa else "-"
            left = (minutes(s.oom - fa[1]) if fa and s.oom else "-") if s.oom else "n/a"
            res = "; ".join(("✓ " if v.met else "✗ ") + md(v.note) if v.judged
                            else "· " + md(v.note) for v in vs)
            lines.append(f"| `{s.id}` | {md(s.title)} | "
                         f"{md('; '.join(e.text for e in s.expects))} | {fired} | {lat} | "
                         f"{left} | {res} |")
        lines.append("")
    lines += [x.replace("at one-minute steps", f"at {dur(EVAL_S)} steps") for x in HOW_TO_READ]
    return "\n".join(lines) + "\n", met, total


SHORT = {"MemoryLeakSuspected": "MLS", "MemoryNearLimit": "MNL",
         "MemoryLimitExhaustionForecast": "MLEF", "GoroutineLeakSuspected": "GLS",
         "ThreadLeakSuspected": "TLS", "HandleLeakSuspected": "HLS",
         "LeakTelemetryMissing": "LTM"}
DEFAULT_GC: dict[str, str] = {}


def short(a: str) -> str:
    return SHORT.get(a, a)


def abbreviate(text: str) -> str:
    for name, abbr in SHORT.items():
        text = text.replace(name, abbr)
    return text


def md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


HOW_TO_READ = [
    "## How to read this", "",
    "- Each scenario is memory behaviour (bench/scenarios.py): bytes or counts per minute, a "
    "1GiB limit, a GC cycle; the expectations say what a good rule set does with it, not how. "
    "Latencies count from when the behaviour starts (the leak, the deploy, the step), not "
    "from the series start; `fired` in the detail table counts from the series start.",
    "- \"silent\" means no alert reached `firing` in the judged span (pending does not count). "
    "\"day 2\" is 24h-48h of a 48h series. Informational rows (·) are reported, never "
    "counted.",
    "- Time left before the OOM: from the first alert to the first sample at or above the "
    "limit (the GC peaks). A scenario whose series would reach the limit ends there.",
    "- A leak alert is any of MemoryLeakSuspected, MemoryNearLimit, "
    "MemoryLimitExhaustionForecast and the goroutine/thread/handle leak alerts; "
    "LeakTelemetryMissing is not one.",
    "- Where each scenario runs: the whole corpus on every runtime x convention with the "
    "cadvisor limit; the limit-sensitive scenarios (`gc-5m`, `restart-warmup-60m`, "
    "`deploy-warmup-60m`, `leak-fast-50kB/s`, `leak-10x`, `gc-2h-declared`, `leak-gc-2h`, "
    "`telemetry-loss`) on every limit source; the leak rates also without a limit (`none`). "
    "A count scenario runs where the convention has that signal (n/a otherwise).",
    "- The scenarios of service `app` run side by side in one promtool test group, each with "
    "its own identity labels and limit series (a background pod keeps the count signals "
    "steady); scrape gaps, telemetry loss and the declared 2h gc_period run in services of "
    "their own (their alerts concern the whole service).",
    "- Every memory signal of the convention (heap, resident, runtime_used) gets the same "
    "bytes, GC sawtooth included, except where the real metric is post-GC (`post_gc` in the "
    "catalog: the JVM's `*_after_last_gc_bytes`, `jvm_memory_pool_collection_used_bytes`): "
    "that one gets what the runtime reports, the level right after each GC (a drop), held "
    "until the next. A signal whose metric no rule of the service names is not fed.",
    "- Where the convention has a major-collection counter (`major_gcs`: Node.js, .NET, Go), it "
    "counts the collections the memory series shows, one at every drop. `gc-4h` is judged "
    "only where the convention shows when the runtime collects (that counter, or a post-GC "
    "heap); elsewhere it is reported: a cycle longer than the window looks like a leak there "
    "unless gc_period is declared (gc-periods.md).",
    "- Every number is one promtool version's evaluation at one-minute steps; 2.x and 3.x "
    "differ by a few minutes (left-open ranges in 3.x).",
]


# ------------------------------------------------------------------------------- main


def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                                "rulegen", "templates"], capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes to rulegen/ or templates/" if dirty else "")


def default_gc(combos: list[Combo]) -> None:
    """Each runtime's default gc_period as the compiled plan says (informational; empty if the
    plan does not say)."""
    for rt in dict.fromkeys(c.runtime for c in combos):
        if rt in DEFAULT_GC:
            continue
        d = WORK / "_defaults"
        d.mkdir(parents=True, exist_ok=True)
        inv = d / f"{rt}.yaml"
        inv.write_text(f"version: 1\ndefaults: {{owner: bench}}\noutput: {{tests: false}}\n"
                       f"services:\n  - name: probe\n    runtime: {rt}\n")
        try:
            plan = compile_inventory(inv, d / "out").loaded.plans[0]
            gc_s = getattr(plan, "gc_s", None)
            DEFAULT_GC[rt] = dur(gc_s) if isinstance(gc_s, int) else "?"
        except (UserError, AttributeError, IndexError):
            DEFAULT_GC[rt] = "?"


def run_all(pt: promtool.Promtool, jobs: list[Job], errors: dict[str, str],
            args: argparse.Namespace, t_start: float) -> dict[str, dict[str, Outcome]]:
    """Run the jobs (the longest first) and read their outcomes; errors by combination."""
    jobs = sorted(jobs, key=lambda j: -max(s.end for s in j.scenarios))
    done = 0
    results: dict[str, dict[str, Outcome]] = defaultdict(dict)
    with ThreadPoolExecutor(args.jobs) as pool:
        for job in pool.map(lambda j: run(pt, j, args.reuse), jobs):
            done += 1
            res, err = outcomes(job)
            if err:
                errors[job.combo.key] = f"{job.service}: {err}"
            results[job.combo.key].update(res)
            if done % 20 == 0 or done == len(jobs):
                print(f"detection: {done}/{len(jobs)} promtool runs, "
                      f"{time.perf_counter() - t_start:.0f}s", file=sys.stderr)
    return results


def layout_section(layout: str, results: dict[str, dict[str, Outcome]],
                   base: dict[str, dict[str, Outcome]], errors: dict[str, str],
                   base_errors: dict[str, str]) -> list[str]:
    """The scenario runs whose alerts (every alert's first firing in every span, the peer's
    left out) differ between `layout` and the per-service layout."""
    same, differ = 0, []
    for key in sorted(set(results) | set(base)):
        if key in errors or key in base_errors:
            differ.append(f"- `{key}`: {errors.get(key) or base_errors.get(key)}")
            continue
        for sid in sorted(set(results.get(key, {})) | set(base.get(key, {}))):
            a, b = results.get(key, {}).get(sid), base.get(key, {}).get(sid)
            ta = None if a is None else {n: sorted(t) for n, t in a.times.items() if n != PEER}
            tb = None if b is None else {n: sorted(t) for n, t in b.times.items() if n != PEER}
            if ta == tb:
                same += 1
            else:
                differ.append(f"- `{key}` `{sid}`: {layout} {ta}, per service {tb}")
    return (["", f"## `output.layout: {layout}` against a rule file per service", "",
             f"The same corpus through the rules of both layouts: **{same} of "
             f"{same + len(differ)} scenario runs fired the same alerts at the same minutes**"
             + (":" if not differ else f"; {len(differ)} differ:"), ""]
            + (differ or ["- no difference."]) + [""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--promtool", metavar="PATH", default=None,
                    help="promtool binary (default: $PROMTOOL, PATH, then .tools/bin/promtool)")
    ap.add_argument("--quick", action="store_true",
                    help=f"one convention per runtime, limit source {QUICK_SOURCE}")
    ap.add_argument("--markdown", metavar="FILE", help="also write the report to FILE")
    ap.add_argument("--jobs", type=int, default=2, help="promtool processes at once (2)")
    ap.add_argument("--only", metavar="SUBSTR", action="append", default=[],
                    help="run only the combinations whose runtime/convention/source contains "
                    "SUBSTR (repeatable)")
    ap.add_argument("--scenario", metavar="SUBSTR", action="append", default=[],
                    help="run only the scenarios whose id contains SUBSTR (repeatable)")
    ap.add_argument("--layout", choices=("service", "classes"), default="service",
                    help="the inventory's output.layout: a rule file per service (the "
                    "default), or rule classes (every service of a combination with the same "
                    "settings in one class file)")
    ap.add_argument("--evaluation-interval", default="1m",
                    help="every service's evaluation_interval; the test files step at it")
    ap.add_argument("--reuse", action="store_true",
                    help="take promtool's output saved by an earlier run for a test file that "
                    "is byte for byte the same (same promtool too) instead of running it again")
    args = ap.parse_args()
    t_start = time.perf_counter()
    pt = promtool.find_promtool(args.promtool)
    version = ".".join(map(str, pt.version))
    global EVAL_S
    EVAL_S = parse_duration(args.evaluation_interval)
    work = WORK / (version if args.layout == "service" else f"{version}-{args.layout}")
    if EVAL_S != 60:
        work = work.with_name(f"{work.name}-e{dur(EVAL_S)}")
    corpus = [s for s in sc.corpus()
              if not args.scenario or any(x in s.id for x in args.scenario)]
    combos, skipped = combinations(args.quick)
    if args.only:
        combos = [c for c in combos if any(o in c.key for o in args.only)]
    default_gc(combos)
    jobs: list[Job] = []
    errors: dict[str, str] = {}
    for c in combos:
        js, err = build_jobs(c, corpus, work, args.layout)
        if err:
            errors[c.key] = err
        jobs += js
    # the class layout is compared with the per-service layout, scenario by scenario
    base_jobs: list[Job] = []
    base_errors: dict[str, str] = {}
    if args.layout != "service":
        for c in combos:
            js, err = build_jobs(c, corpus, WORK / version)
            if err:
                base_errors[c.key] = err
            base_jobs += js
    t_built = time.perf_counter()
    results, base = run_all(pt, jobs, errors, args, t_start), {}
    if base_jobs:
        base = run_all(pt, base_jobs, base_errors, args, t_start)
    elapsed = time.perf_counter() - t_start
    reused = [j for j in jobs if j.reused]
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = cpu.ru_utime + cpu.ru_stime
    header = [
        "# Detection benchmark", "",
        "<!-- generated by bench/detection.py; do not edit by hand -->", "",
        "The project's detection benchmark: a corpus of memory behaviours (bench/scenarios.py: "
        "daily curves with and without history, GC cycles from 1 min to 4 h, deploys warming "
        "up, restarts, restart loops, noise, steps, scrape gaps, telemetry loss, leaks of "
        "several rates with and without a limit, leaks under long GC, goroutine/thread/handle "
        "leaks) run through promtool against the rules rulegen generates for every runtime x "
        "naming convention x memory-limit source, judged against what the alerts are meant to "
        "do. Designs: [families.md](families.md).", "",
        "```sh",
        "PYTHONPATH=. .venv/bin/python bench/detection.py [--promtool PATH] [--quick] "
        + (f"--evaluation-interval {dur(EVAL_S)} [--markdown docs/detection-{dur(EVAL_S)}.md]"
           if EVAL_S != 60 else "[--markdown docs/detection.md]"),
        "```", "",
        f"- promtool: {pt.version_text.splitlines()[0] if pt.version_text else version}",
        f"- rules from git commit {git_state()}",
        f"- run {dt.date.today().isoformat()}, "
        f"{'--quick, ' if args.quick else ''}"
        f"{'output.layout classes, ' if args.layout != 'service' else ''}"
        f"{f'evaluation_interval {dur(EVAL_S)}, ' if EVAL_S != 60 else ''}"
        f"{len(jobs)} promtool test files, "
        f"{elapsed / 60:.1f} min wall on {args.jobs} promtool processes at once, promtool "
        f"CPU {cpu_s / 60:.1f} min (rule compile {t_built - t_start:.0f} s)"
        + (f"; {len(reused)} of them not run but reused from an earlier run of the same "
           "promtool on the same file (--reuse; they took "
           f"{sum(j.seconds for j in reused) / 60:.1f} min of promtool wall time then)"
           if reused else ""), "",
    ]
    text, met, total = report(combos, skipped, errors, results, corpus, header, args.quick)
    if base_jobs:
        text += "\n".join(layout_section(args.layout, results, base, errors, base_errors))
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    print(f"{met} of {total} expectations met ({len(combos) - len(errors)} combinations, "
          f"{elapsed / 60:.1f} min)")


if __name__ == "__main__":
    main()
