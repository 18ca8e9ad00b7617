"""Real emitters against rulegen/catalog.yaml: for every (runtime, convention, signal) row that a
Python or Node emitter of tests/emitters/ covers, its series exist in a real Prometheus under the
catalog's metric name, with the catalog's matcher and sum_without labels, and are gauges (the
counter signal major_gcs: a counter, or a histogram's _count).

Each row is checked on every path the emitter has: ``direct`` (Prometheus scrapes the app) and
``otlp`` (the app pushes OTLP/HTTP into Prometheus 3.5's OTLP receiver), on the healthy twin of
the shared fleet (tests/emitters/apps.py). A row whose catalog name is not what the emitter
emits on a path is a strict xfail naming both (apps.MISMATCHES): it fails once the catalog is
fixed. Test ids: ``<runtime>-<convention>-<signal>[<path>]``, and for the ``process`` runtime,
which several emitters cover, ``[<emitter>/<path>]``.

The type: a scrape carries ``# TYPE``, read back from /api/v1/targets/metadata. OTLP metrics have
no metadata in Prometheus's API; there the type follows from the translation: a monotonic sum
becomes ``<name>_total`` and a histogram ``<name>_bucket``/``_sum``/``_count``, so a series
under the exact gauge-style name, with no such siblings, is a gauge or a non-monotonic sum,
both gauges to PromQL.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from rulegen.catalog import COUNTER_SIGNALS
from tests.emitters import apps
from tests.emitters.harness import Fleet, OtlpConfig, Prometheus, assert_counter, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> apps.Shared:
    return apps.shared_fleet(request.config, tmp_path_factory.mktemp("emitters"))


_READY: set[tuple[int, str]] = set()


def ready(prom: Prometheus, fleet: Fleet, job: str) -> None:
    """Wait (once per job) until the app has delivered its metrics for at least 3 s."""
    if (id(fleet), job) in _READY:
        return
    # a selector with an offset keeps every series apart (count_over_time would drop names)
    wait_until(lambda: prom.query(f'count({{job="{job}"}} offset 3s) > 0'),
               60, 0.5, f"3 rounds of metrics from {job}",
               lambda: (fleet.check_alive(), fleet.logs())[1])
    _READY.add((id(fleet), job))


def _id(emitter: str, path: str, runtime: str, convention: str, signal: str) -> str:
    where = f"{emitter}/{path}" if runtime == "process" else path
    return f"{runtime}-{convention}-{signal}[{where}]"


def _cases() -> list[object]:
    out = []
    for emitter, path, runtime, convention, signal in apps.all_rows():
        metric = apps.signal_def(runtime, convention, signal)["metric"]
        why = apps.mismatch_reason(emitter, path, runtime, convention, signal, metric)
        marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
        out.append(pytest.param(emitter, path, runtime, convention, signal, marks=marks,
                                id=_id(emitter, path, runtime, convention, signal)))
    return out


def _close(names: list[str], metric: str) -> list[str]:
    stem = re.sub(r"_(bytes|total|count|seconds|ratio)$", "", metric)
    words = [w for w in stem.split("_") if len(w) > 3]
    return [n for n in names if stem in n or sum(w in n for w in words) >= 2][:12]


@pytest.mark.parametrize(("emitter", "path", "runtime", "convention", "signal"), _cases())
def test_catalog_row_matches_real_emitter(shared: apps.Shared, emitter: str, path: str,
                                          runtime: str, convention: str, signal: str) -> None:
    fleet = shared.require(emitter, path)
    prom = fleet.prom
    job = apps.app_name(emitter, path, "ok")
    ready(prom, fleet, job)
    sd = apps.signal_def(runtime, convention, signal)
    metric = sd["metric"]
    names = prom.names(f'{{job="{job}"}}')
    assert metric in names, (
        f"{runtime}/{convention}/{signal}: catalog says {metric}; "
        f"{apps.library(emitter, path)} sends no such series to Prometheus via {path}. "
        f"Similar names it does send: {_close(names, metric)}")

    series = prom.series(f'{metric}{{job="{job}"}}')
    for label, spec in (sd.get("matchers") or {}).items():
        if isinstance(spec, dict):
            (kind, value), = spec.items()
            op = {"regex": "=~", "not": "!=", "not_regex": "!~"}[kind]
        else:
            op, value = "=", str(spec)
        selected = prom.series(f'{metric}{{job="{job}",{label}{op}"{value}"}}')
        assert selected, (f"matcher {label}{op}{value!r} selects none of {metric}'s series: "
                          f"{series}")
    for label in sd.get("sum_without") or ():
        assert all(label in s for s in series), (
            f"sum_without {label}: not a label of every {metric} series: {series}")

    if signal in COUNTER_SIGNALS:
        assert_counter(prom, metric, job, path == "direct", lambda: names)
    elif path == "direct":
        assert prom.metric_type(metric, job=job) == "gauge"
    else:
        assert not metric.endswith("_total"), f"{metric}: a monotonic sum's name"
        base = re.sub(r"_(count|sum|bucket)$", "", metric)
        assert f"{base}_bucket" not in names, f"{metric}: part of the histogram {base}"
        for suffix in ("_total", "_bucket"):
            assert f"{metric}{suffix}" not in names, f"{metric}{suffix} exists: not a gauge"


def _identity_cases() -> list[object]:
    return [pytest.param(e.key, path, id=f"{e.key}/{path}") for e in apps.EMITTERS
            for path in e.paths]


@pytest.mark.parametrize(("emitter", "path"), _identity_cases())
def test_service_identity_labels(shared: apps.Shared, emitter: str, path: str) -> None:
    """Which label says which service a series is from, per path. Direct scrapes: only the
    scrape's job and instance (OpenTelemetry exporters put service_name on target_info alone,
    so inventory selectors on service_name match nothing). OTLP: job is service.name and
    instance service.instance.id; service_name exists only because the receiver's
    promote_resource_attributes lists service.name."""
    fleet = shared.require(emitter, path)
    prom = fleet.prom
    job = apps.app_name(emitter, path, "ok")
    ready(prom, fleet, job)
    covers = apps.EMITTER[emitter].covers_on(path)
    heap = next(apps.signal_def(rt, conv, "heap")["metric"] for rt, conv in covers
                if rt != "process")
    real = apps.MISMATCHES.get((emitter, path, *next(
        (rt, conv, "heap") for rt, conv in covers if rt != "process")))
    series = prom.series(f'{real or heap}{{job="{job}"}}')
    assert series
    for s in series:
        assert s["job"] == job
        if path == "direct":
            assert s["instance"] == fleet.app(job).target
            assert "service_name" not in s, s
        else:
            assert s["service_name"] == job
            assert re.fullmatch(r".+:\d+", s["instance"]) and s["instance"] == s[
                "service_instance_id"], s
    if emitter.endswith("otel") and path == "direct":
        info = prom.series(f'target_info{{job="{job}"}}')
        assert info and all(i.get("service_name") == job for i in info), info


def test_otlp_default_config_has_no_service_name(shared: apps.Shared, tmp_path: Path) -> None:
    """Prometheus's OTLP receiver without promote_resource_attributes (its default): service.name
    becomes job only, so a selector on service_name matches nothing on this path either."""
    shared.require("python-otel", "otlp")
    app = apps.make_app("python-otel", "otlp", "ok")
    binary = apps.DEST / "prometheus-3.5-otlp" / "bin" / "prometheus"
    with Fleet(str(binary), tmp_path, [app],
               otlp=OtlpConfig(promote_resource_attributes=())) as fleet:
        series = fleet.prom.wait_series("process_memory_usage_bytes", timeout=30)
    assert series and all(s["job"] == app.name and "service_name" not in s for s in series), (
        series)


def test_fleet_timings(shared: apps.Shared) -> None:
    """Not an assertion on speed: records how long the installs and the start took."""
    if shared.fleet is None:
        pytest.skip("; ".join(shared.skipped.values()))
    print({k: round(v, 1) for k, v in shared.timings.items()},
          f"apps up for {time.monotonic() - shared.started:.0f}s")
    assert Path(shared.fleet.workdir).is_dir()
