"""The Python and Node emitter apps, what catalog rows each covers, and one fleet of them.

Emitters (each a leaking twin ``-leak``, LEAK=1, and a healthy twin ``-ok``, LEAK=0):

===================  ===========================================================  ==========
emitter              library (versions: python-apps/requirements.txt,             paths
                     node-apps/package-lock.json)
===================  ===========================================================  ==========
python-prom-client   prometheus_client default collectors                         direct
python-otel          opentelemetry-sdk + instrumentation-system-metrics           direct, otlp
node-prom-client     prom-client collectDefaultMetrics()                          direct
node-otel            @opentelemetry/sdk-metrics + instrumentation-runtime-node     direct, otlp
                     + host-metrics (process.* groups)
===================  ===========================================================  ==========

``direct`` is a scrape of the app (the Prometheus client, or the OpenTelemetry Prometheus
exporter); ``otlp`` a push of OTLP/HTTP into Prometheus 3.5's OTLP receiver. App names are
``<emitter>-<path>-<twin>`` (``python-otel-otlp-leak``); each is its own ``job``.

The fleet is started once per test session (:func:`shared_fleet`) and shared by
tests/test_emitters_conformance.py and tests/test_emitters_e2e.py: the scrape apps are scraped
by Prometheus 3.5 (``main``, the OTLP-capable build when it can be had, which also receives the
OTLP apps) and by 2.42 (``2.42``); the rule files the e2e test generates are loaded into both
with a reload.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emitters.harness import App, Fleet, otlp_support

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEST = ROOT / ".tools" / "emitters"
CATALOG = ROOT / "rulegen" / "catalog.yaml"
SCRIPT = ROOT / "scripts" / "get-emitters.sh"


# --------------------------------------------------------------------------------------------
# Toolchains (scripts/get-emitters.sh), each installed once per session


@functools.cache
def component(name: str) -> tuple[Path | None, str, float]:
    """(install dir, "", seconds) of a get-emitters.sh component, or (None, why not, seconds).
    A failure other than "cannot be had here" (exit 3) is raised: it is a bug."""
    start = time.monotonic()
    p = subprocess.run(["bash", str(SCRIPT), name, str(DEST)], capture_output=True, text=True,
                       timeout=3000)
    took = time.monotonic() - start
    if p.returncode == 3:
        last = (p.stderr.strip().splitlines() or ["?"])[-1]
        return None, last.removeprefix("get-emitters: unavailable: "), took
    if p.returncode != 0:
        raise RuntimeError(f"get-emitters.sh {name} failed ({p.returncode}):\n{p.stderr}")
    dirs = {"python": DEST / "python", "node": DEST / "node",
            "prometheus-otlp": DEST / "prometheus-3.5-otlp"}
    return dirs[name], "", took


# --------------------------------------------------------------------------------------------
# Emitters and the catalog rows they cover

Row = tuple[str, str, str]  # (runtime, convention, signal)


@dataclass(frozen=True)
class Emitter:
    key: str
    lang: str  # python | node
    library: str  # what emits the names, with versions
    paths: tuple[str, ...]
    # (runtime, convention) pairs whose catalog signals this library is meant to emit, and the
    # signals of those pairs it does not implement at all (so they are not its rows).
    covers: tuple[tuple[str, str], ...]
    lacks: frozenset[Row] = frozenset()
    # Paths whose names differ from `covers`' (the JS Prometheus exporter adds no unit suffix).
    covers_by_path: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    def covers_on(self, path: str) -> tuple[tuple[str, str], ...]:
        return dict(self.covers_by_path).get(path, self.covers)

    def rows(self, catalog: dict[str, Any], path: str | None = None) -> list[Row]:
        out = []
        covers = self.covers_on(path) if path else tuple(
            {pair: None for p in self.paths for pair in self.covers_on(p)})
        for runtime, convention in covers:
            for signal in catalog["runtimes"][runtime]["signals"].get(convention, {}):
                if (runtime, convention, signal) not in self.lacks:
                    out.append((runtime, convention, signal))
        return out


PY_OTEL = "opentelemetry-sdk 1.45.2 + opentelemetry-instrumentation-system-metrics 0.66b2"
NODE_OTEL = ("@opentelemetry/sdk-metrics 2.12.0 + @opentelemetry/instrumentation-runtime-node "
             "0.36.1 + @opentelemetry/host-metrics 0.39.0")
EMITTERS = (
    Emitter("python-prom-client", "python", "prometheus_client 0.26.0", ("direct",),
            (("python", "prometheus"), ("process", "prometheus"))),
    Emitter("python-otel", "python", PY_OTEL, ("direct", "otlp"),
            (("python", "otel-semconv"), ("python", "otel-legacy"),
             ("process", "otel-semconv"), ("process", "otel-legacy"))),
    Emitter("node-prom-client", "node", "prom-client 15.1.3", ("direct",),
            (("nodejs", "prometheus"), ("process", "prometheus"))),
    # host-metrics has no thread or file-descriptor instruments
    Emitter("node-otel", "node", NODE_OTEL, ("direct", "otlp"),
            (("nodejs", "otel-semconv"), ("process", "otel-semconv"),
             ("process", "otel-legacy")),
            frozenset({("process", conv, sig)
                       for conv in ("otel-semconv", "otel-legacy", "otel-semconv-nosuffix")
                       for sig in ("threads", "handles")}),
            # exporter-prometheus writes no unit suffix: scraped, these are the nosuffix names
            (("direct", (("nodejs", "otel-semconv-nosuffix"),
                         ("process", "otel-semconv-nosuffix"))),)),
)
EMITTER = {e.key: e for e in EMITTERS}
PATH_LIBRARY = {  # what turns the instruments into Prometheus names on each path
    ("python-otel", "direct"): "opentelemetry-exporter-prometheus 0.66b2 (scrape)",
    ("python-otel", "otlp"): ("opentelemetry-exporter-otlp-proto-http 1.45.2 -> Prometheus 3.5 "
                              "OTLP receiver (UnderscoreEscapingWithSuffixes)"),
    ("node-otel", "direct"): "@opentelemetry/exporter-prometheus 0.223.0 (scrape)",
    ("node-otel", "otlp"): ("@opentelemetry/exporter-metrics-otlp-http 0.223.0 -> Prometheus 3.5 "
                            "OTLP receiver (UnderscoreEscapingWithSuffixes)"),
}


def library(emitter: str, path: str) -> str:
    e = EMITTER[emitter]
    via = PATH_LIBRARY.get((emitter, path))
    return f"{e.library} via {via}" if via else f"{e.library} (scrape)"


# Where the catalog's name is not what the emitter's series are called in Prometheus on a path:
# (emitter, path, runtime, convention, signal) -> the real name. Each case is a strict xfail in
# both test files, so it fails as soon as the catalog is fixed (then delete its line here).
MISMATCHES: dict[tuple[str, str, str, str, str], str] = {
    # host-metrics 0.39 declares process.memory.usage without a unit, so even the OTLP
    # receiver adds no _bytes (a library bug: the semantic conventions say unit By)
    ("node-otel", "otlp", "process", "otel-semconv", "heap"): "process_memory_usage",
    ("node-otel", "otlp", "process", "otel-semconv", "resident"): "process_memory_usage",
    ("node-otel", "otlp", "process", "otel-legacy", "heap"): "process_memory_usage",
    ("node-otel", "otlp", "process", "otel-legacy", "resident"): "process_memory_usage",
    # system-metrics 0.66b2 still emits the pre-1.30 semconv name process.open_file_descriptor
    # .count (the catalog's otel-legacy name); otel-semconv keeps the current name, source only
    ("python-otel", "direct", "process", "otel-semconv", "handles"):
        "process_open_file_descriptor_count",
    ("python-otel", "otlp", "process", "otel-semconv", "handles"):
        "process_open_file_descriptor_count",
}


def mismatch_reason(emitter: str, path: str, runtime: str, convention: str, signal: str,
                    catalog_metric: str) -> str | None:
    real = MISMATCHES.get((emitter, path, runtime, convention, signal))
    if real is None:
        return None
    return (f"catalog says {catalog_metric}, emitter {library(emitter, path)} emits {real} "
            f"via {path}")


@functools.cache
def catalog() -> dict[str, Any]:
    """catalog.yaml as rulegen reads it (rulegen.catalog.load, so conventions derived from
    another's names are there too), in the file's own shape."""
    from rulegen import catalog as cat

    ops = {op: key for key, op in (("regex", "=~"), ("not", "!="), ("not_regex", "!~"))}
    loaded = cat.load()
    runtimes: dict[str, Any] = {rt: {"signals": {}} for rt in loaded.runtimes}
    for (rt, conv), sigs in loaded.signals.items():
        runtimes[rt]["signals"][conv] = {
            name: {"metric": d.metric, "sum_without": list(d.sum_without),
                   "matchers": {lbl: v if op == "=" else {ops[op]: v}
                                for lbl, op, v in d.matchers}}
            for name, d in sigs.items()}
    raw = yaml.safe_load(CATALOG.read_text())
    return {**raw, "runtimes": runtimes}


def signal_def(runtime: str, convention: str, signal: str) -> dict[str, Any]:
    return dict(catalog()["runtimes"][runtime]["signals"][convention][signal])


def all_rows() -> list[tuple[str, str, str, str, str]]:
    """(emitter, path, runtime, convention, signal) for every covered catalog row."""
    return [(e.key, path, *row) for e in EMITTERS for path in e.paths
            for row in e.rows(catalog(), path)]


def uncovered_rows() -> list[Row]:
    """Catalog rows of python, nodejs and process that none of these emitters covers."""
    covered = {row for e in EMITTERS for row in e.rows(catalog())}
    out = []
    for runtime in ("python", "nodejs", "process"):
        for convention, signals in catalog()["runtimes"][runtime]["signals"].items():
            out += [(runtime, convention, s) for s in signals
                    if (runtime, convention, s) not in covered]
    return out


# --------------------------------------------------------------------------------------------
# Apps


def app_name(emitter: str, path: str, twin: str) -> str:
    return f"{emitter}-{path}-{twin}"


def make_app(emitter: str, path: str, twin: str) -> App:
    e = EMITTER[emitter]
    env = {"LEAK": "1" if twin == "leak" else "0"}
    if e.key.endswith("otel"):
        env["EXPORT"] = "otlp" if path == "otlp" else "prometheus"
    if e.lang == "python":
        script = {"python-prom-client": "prometheus_client_app.py",
                  "python-otel": "otel_app.py"}[e.key]
        command = [str(DEST / "python" / "bin" / "python"), str(HERE / "python-apps" / script)]
    else:
        script = {"node-prom-client": "prom_client_app.js", "node-otel": "otel_app.js"}[e.key]
        env["NODE_PATH"] = str(DEST / "node" / "node_modules")
        # time compressed like the rules' gc_period (10s): a 1 MiB semi-space collects the
        # young generation about every second at the workload's churn, and --expose-gc lets
        # workload.js run a full collection every 5 s (V8 would wait minutes)
        command = ["node", "--max-semi-space-size=1", "--expose-gc",
                   str(HERE / "node-apps" / script)]
    return App(app_name(emitter, path, twin), command, env=env,
               exposes="otlp" if path == "otlp" else "scrape")


@dataclass
class Shared:
    fleet: Fleet | None
    skipped: dict[str, str]  # "python" | "node" | "otlp" | "2.42" -> why it is not there
    started: float  # time.monotonic() when the apps had started
    rules_dir: Path
    timings: dict[str, float]

    def require(self, emitter: str, path: str) -> Fleet:
        lang = EMITTER[emitter].lang
        for key in (lang, "otlp" if path == "otlp" else None):
            if key and key in self.skipped:
                pytest.skip(self.skipped[key])
        if self.fleet is None:
            pytest.skip("; ".join(self.skipped.values()))
        return self.fleet


_SHARED: dict[int, Shared] = {}


def release(config: pytest.Config) -> None:
    """Stop the session's fleet now (the e2e module, its last user, does so when it ends, so
    the rest of the suite does not share the cores with it); a later shared_fleet() starts a
    new one."""
    shared = _SHARED.pop(id(config), None)
    if shared is not None and shared.fleet is not None:
        shared.fleet.__exit__(None, None, None)


def shared_fleet(config: pytest.Config, tmp_root: Path) -> Shared:
    """The session's one fleet: every app whose toolchain is here, Prometheus 3.5 (OTLP-capable
    build when possible) and 2.42. Stopped when pytest ends (config cleanup)."""
    key = id(config)
    if key in _SHARED:
        return _SHARED[key]
    sys.path.insert(0, str(ROOT))
    from tests.conftest import _line_binary

    skipped: dict[str, str] = {}
    timings: dict[str, float] = {}
    for comp in ("python", "node", "prometheus-otlp"):
        where, why, took = component(comp)
        timings[f"install {comp}"] = took
        if where is None:
            skipped["otlp" if comp == "prometheus-otlp" else comp] = (
                f"get-emitters.sh {comp}: {why}")
    main, why35 = _line_binary("3.5", "prometheus")
    otlp_bin = DEST / "prometheus-3.5-otlp" / "bin" / "prometheus"
    if "otlp" not in skipped:
        ok, why = otlp_support(str(otlp_bin))
        if ok:
            main = str(otlp_bin)
        else:
            skipped["otlp"] = why
    p242, why242 = _line_binary("2.42", "prometheus")
    also = {}
    if p242 is None:
        skipped["2.42"] = why242
    else:
        also["2.42"] = p242
    if main is None:
        skipped["3.5"] = why35
        main, also = p242, {}
    rules_dir = tmp_root / "rules_out"
    apps = []
    for e in EMITTERS:
        if e.lang in skipped:
            continue
        for path in e.paths:
            if path == "otlp" and "otlp" in skipped:
                continue
            apps += [make_app(e.key, path, twin) for twin in ("leak", "ok")]
    if main is None or not apps:
        shared = Shared(None, skipped | {"prometheus": f"{why35}; {why242}"} if main is None
                        else skipped, time.monotonic(), rules_dir, timings)
        _SHARED[key] = shared
        return shared
    # each server loads the rules generated for it: rules_out/<server>/rules/<runtime>/*.yml
    globs = [str(rules_dir / "{server}" / "rules" / rt / "*.yml")
             for rt in ("python", "nodejs", "process")]
    fleet = Fleet(main, tmp_root / "fleet", apps, scrape_interval="1s",
                  evaluation_interval="1s", rule_files=globs, also=also)
    start = time.monotonic()
    fleet.__enter__()
    timings["start fleet"] = time.monotonic() - start
    config.add_cleanup(lambda: release(config))
    shared = Shared(fleet, skipped, time.monotonic(), rules_dir, timings)
    _SHARED[key] = shared
    return shared
