"""Real metric emitters, scraped (or pushed over OTLP) into a real Prometheus, on 127.0.0.1.

Shared by every runtime's emitter tests (Python and Node here; Go and JVM plug in the same way).
Nothing here knows a runtime: an emitter app is a command line, an environment, a working
directory and the way it exposes metrics.

Plugging an app in
==================

An app is an :class:`App`::

    App(name="go-prom-leak",                      # unique; the scrape job, and service.name
        command=["/path/to/bin/app"],             # argv; "{port}" / "{otlp_url}" substituted
        env={"LEAK": "1"},                        # added to a minimal environment, substituted too
        cwd=Path(...),                            # optional
        exposes="scrape",                         # or "otlp"
        metrics_path="/metrics")                  # scrape apps only

Placeholders in ``command`` and ``env`` values:

- ``{port}``: a free 127.0.0.1 port chosen for the app. A ``scrape`` app must serve its
  metrics on ``http://127.0.0.1:{port}{metrics_path}`` (text exposition or OpenMetrics);
  the harness waits until that answers 200 before it starts Prometheus. ``PORT`` is always
  set in the environment too.
- ``{otlp_url}``: the OTLP/HTTP metrics endpoint of the Prometheus started for the apps
  (``http://127.0.0.1:<p>/api/v1/otlp/v1/metrics``). An ``otlp`` app pushes there with
  cumulative temporality (Prometheus refuses delta); ``OTLP_METRICS_URL`` and
  ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` are always set to it, ``OTEL_SERVICE_NAME`` to the
  app's name, and ``OTEL_METRIC_EXPORT_INTERVAL`` to the scrape interval in milliseconds.
  Only a Prometheus that has an OTLP receiver takes them (:func:`otlp_support`).
- ``LEAK``: by convention ``1`` for the leaking twin (keeps ~100 kB more every second) and
  ``0`` for the healthy twin (allocates and frees, steady). The harness passes ``env`` through.

Then::

    with Fleet(prometheus_binary, workdir, apps, scrape_interval="1s",
               rule_files=[...],                 # globs allowed in the last element
               also={"2.42": other_binary}) as fleet:  # more servers scraping the same apps
        fleet.prom.wait_series("process_resident_memory_bytes", {"job": "go-prom-leak"})
        fleet.prom.query('up{job="go-prom-leak"}')
        fleet.prom.metric_type("go_goroutines")  # "gauge", from scrape metadata
        fleet.prom.firing_alerts()               # ALERTS{alertstate="firing"}
        fleet.servers["2.42"].firing_alerts()
        fleet.reload()                            # after writing the rule files

Scrape apps become one job each (``job=<app name>``, ``instance=127.0.0.1:<port>``, plus the
app's ``labels``). OTLP apps get ``job`` from ``service.name`` (``service.namespace/`` before
it when set) and ``instance`` from ``service.instance.id``; Prometheus's ``otlp:`` config section
promotes the resource attributes in ``promote_resource_attributes`` (``service.name`` ->
``service_name``...) and translates names with ``translation_strategy``
(``UnderscoreEscapingWithSuffixes`` by default, i.e. ``v8js.memory.heap.used`` in ``By`` ->
``v8js_memory_heap_used_bytes``).

Processes run in their own process group and are stopped with SIGTERM to the group, then
SIGKILL after a bounded wait; stdout/stderr of each goes to ``<workdir>/<name>.log``, whose
tail is in every timeout message.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

# What every child gets from the outside world (no proxies, no user configuration).
_PASS_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "GOCACHE", "GOPATH",
             "JAVA_HOME", "NODE_PATH")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.5,
               what: str = "condition", detail: Callable[[], str] | None = None) -> T:
    """Call ``predicate`` until it returns something truthy and return that; raise
    TimeoutError naming ``what`` (and ``detail()``, e.g. a log tail) after ``timeout`` s.
    Exceptions of the predicate count as "not yet" and the last one is reported, except
    :class:`Died` (a started process exited), which is raised at once."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Died:
            raise
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last_error = e
        if time.monotonic() >= deadline:
            msg = f"{what}: not met within {timeout:g}s"
            if last_error is not None:
                msg += f" (last error: {last_error!r})"
            if detail is not None:
                msg += "\n" + detail()
            raise TimeoutError(msg)
        time.sleep(interval)


class Died(RuntimeError):
    """A process the harness started has exited: waiting for it any longer is pointless."""


class Process:
    """A child in its own process group, logging to a file; stop() is bounded."""

    def __init__(self, argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> None:
        self.argv = list(argv)
        self.log = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=dict(env) if env else None,
                                     cwd=cwd, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self, name: str) -> None:
        if not self.alive():
            raise Died(f"{name} exited with {self.proc.returncode}:\n"
                               f"{log_tail(self.log)}")

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM to the whole group, SIGKILL after ``timeout`` s; never waits longer."""
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=timeout)
            # children left in the group (a shell's, a runtime's workers) go too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        finally:
            self._log.close()


# --------------------------------------------------------------------------------------------
# Apps


@dataclass(frozen=True)
class App:
    """An emitter process. See the module docstring for the placeholders and conventions."""

    name: str
    command: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    exposes: Literal["scrape", "otlp"] = "scrape"
    metrics_path: str = "/metrics"
    labels: Mapping[str, str] = field(default_factory=dict)  # extra target labels (scrape)
    ready_timeout: float = 60  # a JVM takes its time


class RunningApp:
    def __init__(self, app: App, workdir: Path, otlp_url: str | None,
                 scrape_interval_s: float) -> None:
        self.app = app
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        subst = {"port": str(self.port), "otlp_url": otlp_url or ""}
        env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        env.update({"PORT": str(self.port), "OTEL_SERVICE_NAME": app.name,
                    "PYTHONUNBUFFERED": "1",
                    "OTEL_METRIC_EXPORT_INTERVAL": str(int(scrape_interval_s * 1000))})
        if otlp_url:
            env["OTLP_METRICS_URL"] = otlp_url
            env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = otlp_url
        env.update({k: v.format(**subst) for k, v in app.env.items()})
        argv = [a.format(**subst) for a in app.command]
        self.process = Process(argv, workdir / f"{app.name}.log", env=env, cwd=app.cwd)

    @property
    def url(self) -> str:
        return f"http://{self.target}{self.app.metrics_path}"

    def wait_ready(self) -> None:
        if self.app.exposes != "scrape":
            # an OTLP app has nothing to ask; it must at least stay up past its start
            time.sleep(0.5)
            self.process.check_alive(self.app.name)
            return

        def up() -> bool:
            self.process.check_alive(self.app.name)
            with urllib.request.urlopen(self.url, timeout=2) as r:
                return bool(r.status == 200)

        wait_until(up, self.app.ready_timeout, 0.3, f"{self.app.name} serving {self.url}",
                   lambda: log_tail(self.process.log))

    def scrape(self) -> str:
        """The app's own exposition right now (for debugging and direct checks)."""
        with urllib.request.urlopen(self.url, timeout=5) as r:
            return str(r.read().decode())

    def stop(self) -> None:
        self.process.stop()


# --------------------------------------------------------------------------------------------
# Prometheus


@functools.cache
def assert_counter(prom: Prometheus, metric: str, job: str, scraped: bool,
                   names: Callable[[], list[str]]) -> None:
    """A counter signal (major_gcs) as Prometheus has it: scraped, # TYPE counter, or the _count
    of a histogram or summary; through OTLP (no metadata), a monotonic sum's `_total` name, or
    a `_count` with its `_sum` beside it (`names`: the names the app sends)."""
    base = metric.removesuffix("_count")
    if scraped:
        kind = prom.metric_type(base, job=job)
        assert kind in (("histogram", "summary") if base != metric else ("counter",)), (
            f"{metric}: # TYPE of {base} is {kind}")
    elif base != metric:
        assert f"{base}_sum" in names(), f"{metric}: no {base}_sum beside it, no histogram's count"
    else:
        assert metric.endswith("_total"), f"{metric}: not a monotonic sum's name"


def prometheus_version(binary: str) -> tuple[int, int]:
    """(major, minor) from ``prometheus --version``."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    m = re.search(r"version v?(\d+)\.(\d+)", out.stdout + out.stderr)
    if not m:
        raise RuntimeError(f"{binary} --version: {out.stdout + out.stderr!r}")
    return int(m.group(1)), int(m.group(2))


@functools.cache
def otlp_support(binary: str) -> tuple[bool, str]:
    """(True, "") when ``binary`` has an OTLP receiver (3.x ``--web.enable-otlp-receiver``),
    else (False, why not). Debian's builds strip the receiver out, so the flag is looked for."""
    major, minor = prometheus_version(binary)
    if major < 3:
        return False, f"{binary} is Prometheus {major}.{minor}: no --web.enable-otlp-receiver"
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=30)
    if "--[no-]web.enable-otlp-receiver" not in out.stdout + out.stderr:
        return False, (f"{binary} (Prometheus {major}.{minor}) was built without the OTLP "
                       "receiver (no --web.enable-otlp-receiver in --help)")
    return True, ""


@dataclass(frozen=True)
class OtlpConfig:
    """Prometheus's ``otlp:`` configuration section (3.x)."""

    promote_resource_attributes: Sequence[str] = ("service.name", "service.instance.id",
                                                  "service.namespace")
    translation_strategy: str = "UnderscoreEscapingWithSuffixes"
    keep_identifying_resource_attributes: bool = False

    def yaml(self) -> str:
        attrs = "".join(f"\n    - {a}" for a in self.promote_resource_attributes) or " []"
        keep = str(self.keep_identifying_resource_attributes).lower()
        return (f"otlp:\n  promote_resource_attributes:{attrs}\n"
                f"  translation_strategy: {self.translation_strategy}\n"
                f"  keep_identifying_resource_attributes: {keep}\n")


def _seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", duration)
    if not m:
        raise ValueError(f"duration {duration!r}: use ms, s or m")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


class Prometheus:
    """A real Prometheus on a free loopback port with a temporary TSDB.

    ``scrape``: (job, target, metrics_path, extra labels) per scrape target. ``otlp``: an
    :class:`OtlpConfig` to enable the OTLP receiver (3.x with a receiver only, else
    RuntimeError: check :func:`otlp_support` first and skip)."""

    def __init__(self, binary: str, workdir: Path,
                 scrape: Sequence[tuple[str, str, str, Mapping[str, str]]] = (),
                 scrape_interval: str = "1s", evaluation_interval: str = "1s",
                 rule_files: Sequence[str] = (), otlp: OtlpConfig | None = None,
                 ready_timeout: float = 60) -> None:
        self.binary = binary
        self.version = prometheus_version(binary)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.otlp_url = f"{self.url}/api/v1/otlp/v1/metrics" if otlp else None
        self.config = workdir / "prometheus.yml"
        self.config.write_text(self._config(scrape, scrape_interval, evaluation_interval,
                                            rule_files, otlp))
        argv = [binary, f"--config.file={self.config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle",
                "--log.level=info"]
        if otlp is not None:
            ok, why = otlp_support(binary)
            if not ok:
                raise RuntimeError(why)
            argv.append("--web.enable-otlp-receiver")
        self.process = Process(argv, workdir / "prometheus.log")
        try:
            wait_until(self._ready, ready_timeout, 0.2, f"prometheus {self.url} ready",
                       lambda: log_tail(self.process.log))
        except BaseException:
            self.process.stop()
            raise

    @staticmethod
    def _config(scrape: Sequence[tuple[str, str, str, Mapping[str, str]]], interval: str,
                evaluation: str, rule_files: Sequence[str], otlp: OtlpConfig | None) -> str:
        timeout = f"{max(int(_seconds(interval) * 800), 100)}ms"
        text = (f"global:\n  scrape_interval: {interval}\n  scrape_timeout: {timeout}\n"
                f"  evaluation_interval: {evaluation}\n")
        if rule_files:
            text += "rule_files:\n" + "".join(f"  - {json.dumps(str(f))}\n" for f in rule_files)
        if scrape:
            text += "scrape_configs:\n"
            for job, target, path, labels in scrape:
                text += (f"  - job_name: {json.dumps(job)}\n"
                         f"    metrics_path: {json.dumps(path)}\n"
                         f"    static_configs:\n      - targets: [{json.dumps(target)}]\n")
                if labels:
                    text += f"        labels: {json.dumps(dict(labels))}\n"
        if otlp is not None:
            text += otlp.yaml()
            # OTLP pushes arrive slightly out of order across apps; accept them.
            text += "storage:\n  tsdb:\n    out_of_order_time_window: 10m\n"
        return text

    def _ready(self) -> bool:
        self.process.check_alive("prometheus")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def reload(self) -> None:
        """Re-read the configuration and the rule files now (POST /-/reload); raises with
        Prometheus's message when the new configuration or a rule file is refused."""
        req = urllib.request.Request(self.url + "/-/reload", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30):
                pass
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"reload refused: {e.read().decode(errors='replace')}") from e

    # -- HTTP API ---------------------------------------------------------------------------

    def api(self, path: str, **params: str | Sequence[str]) -> Any:
        """GET /api/v1/<path>; returns ``data``; raises RuntimeError on an API error."""
        query = urllib.parse.urlencode(params, doseq=True)
        url = f"{self.url}/api/v1/{path}" + (f"?{query}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            raise RuntimeError(f"{url}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query; the vector's elements ({"metric": {...}, "value": [t, "v"]})."""
        data = self.api("query", query=expr)
        if data["resultType"] != "vector":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None when it is empty."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise AssertionError(f"{expr}: {len(result)} series, expected one: {result}")
        return float(result[0]["value"][1])

    def series(self, match: str, since_s: float = 3600) -> list[dict[str, str]]:
        """Label sets of the series matching the selector ``match`` (e.g. a metric name or
        ``{__name__=~"process_.*",job="x"}``) seen in the last ``since_s`` seconds."""
        now = time.time()
        return list(self.api("series", **{"match[]": match, "start": f"{now - since_s:.3f}",
                                          "end": f"{now:.3f}"}))

    def names(self, match: str | None = None) -> list[str]:
        """Every metric name stored (optionally of the series matching ``match``)."""
        params = {"match[]": match} if match else {}
        return list(self.api("label/__name__/values", **params))

    def metadata(self, metric: str | None = None) -> dict[str, list[dict[str, str]]]:
        """/api/v1/metadata: {name: [{type, help, unit}]} from the scrape targets. Metrics that
        arrived only over OTLP have none here."""
        return dict(self.api("metadata", **({"metric": metric} if metric else {})))

    def targets_metadata(self, match_target: str = "", metric: str = "") -> list[dict[str, Any]]:
        """/api/v1/targets/metadata: per target, {target, metric, type, help, unit}."""
        params: dict[str, str] = {}
        if match_target:
            params["match_target"] = match_target
        if metric:
            params["metric"] = metric
        return list(self.api("targets/metadata", **params))

    def metric_type(self, metric: str, job: str | None = None) -> str | None:
        """The TYPE scraped for ``metric`` (``job`` narrows it to one scrape job); None when
        no scraped target exposes it (e.g. OTLP-only)."""
        if job is None:
            types = {m["type"] for m in self.metadata(metric).get(metric, [])}
        else:
            rows = self.targets_metadata(f'{{job="{job}"}}', metric)
            types = {r["type"] for r in rows}
        if len(types) > 1:
            raise AssertionError(f"{metric}: several types {sorted(types)}")
        return types.pop() if types else None

    def targets(self) -> list[dict[str, Any]]:
        return list(self.api("targets")["activeTargets"])

    def rules(self) -> list[dict[str, Any]]:
        return list(self.api("rules")["groups"])

    def alerts(self) -> list[dict[str, Any]]:
        """/api/v1/alerts: every pending or firing alert with its labels and state."""
        return list(self.api("alerts")["alerts"])

    def firing_alerts(self, alertname: str | None = None) -> list[dict[str, str]]:
        """Label sets of the firing alerts (of ``alertname`` when given)."""
        return [a["labels"] for a in self.alerts() if a["state"] == "firing"
                and (alertname is None or a["labels"].get("alertname") == alertname)]

    def wait_series(self, metric: str, labels: Mapping[str, str] | None = None,
                    timeout: float = 60, min_samples: int = 1) -> list[dict[str, str]]:
        """Wait until ``metric{labels}`` has a series with at least ``min_samples`` samples in
        the last 5 minutes; return the label sets of its series."""
        sel = ",".join(f'{k}="{v}"' for k, v in (labels or {}).items())
        expr = f"count_over_time({metric}{{{sel}}}[5m]) >= {min_samples}"
        wait_until(lambda: self.query(expr), timeout, 0.5, f"series {metric}{{{sel}}}",
                   lambda: log_tail(self.process.log, 10))
        return self.series(f"{metric}{{{sel}}}")

    def stop(self) -> None:
        self.process.stop()


# --------------------------------------------------------------------------------------------
# Fleet: apps + one Prometheus


class Fleet:
    """Start ``apps`` and one Prometheus (``prom``) scraping or receiving them, plus optional
    ``also`` servers ({name: binary}, e.g. another release line) that scrape the same scrape
    apps with the same rule files; stop them all on exit. Use as a context manager.

    Scrape apps start first (their ports go into the scrape configs); when any app pushes OTLP,
    ``prom`` starts with the OTLP receiver before those apps, whose ``{otlp_url}`` is its
    endpoint (the ``also`` servers never see OTLP apps). ``servers`` has every server by name,
    ``main`` being ``prom``. Rule files may be written after the start and loaded with
    ``reload()`` (``rule_files`` may hold globs in the last path element, and ``{server}``,
    replaced by each server's name, so that each loads its own)."""

    def __init__(self, prometheus_binary: str, workdir: Path, apps: Sequence[App],
                 scrape_interval: str = "1s", evaluation_interval: str = "1s",
                 rule_files: Sequence[str] = (), otlp: OtlpConfig | None = None,
                 also: Mapping[str, str] | None = None) -> None:
        names = [a.name for a in apps]
        if len(set(names)) != len(names):
            raise ValueError(f"app names must be unique: {names}")
        self.binary = prometheus_binary
        self.also = dict(also or {})
        if "main" in self.also:
            raise ValueError("'main' names the first server")
        self.workdir = workdir
        self.apps = list(apps)
        self.scrape_interval = scrape_interval
        self.evaluation_interval = evaluation_interval
        self.rule_files = list(rule_files)
        wants_otlp = any(a.exposes == "otlp" for a in apps)
        self.otlp = otlp if otlp is not None else (OtlpConfig() if wants_otlp else None)
        self.running: dict[str, RunningApp] = {}
        self.servers: dict[str, Prometheus] = {}

    @property
    def prom(self) -> Prometheus:
        return self.servers["main"]

    def __enter__(self) -> Fleet:
        self.workdir.mkdir(parents=True, exist_ok=True)
        interval = _seconds(self.scrape_interval)
        try:
            scrape_apps = [a for a in self.apps if a.exposes == "scrape"]
            for app in scrape_apps:
                self.running[app.name] = RunningApp(app, self.workdir, None, interval)
            for app in scrape_apps:
                self.running[app.name].wait_ready()
            targets = [(a.name, self.running[a.name].target, a.metrics_path, a.labels)
                       for a in scrape_apps]
            for name, binary in {"main": self.binary, **self.also}.items():
                self.servers[name] = Prometheus(
                    binary, self.workdir / f"prometheus-{name}", targets, self.scrape_interval,
                    self.evaluation_interval,
                    [f.replace("{server}", name) for f in self.rule_files],
                    self.otlp if name == "main" else None)
            for app in self.apps:
                if app.exposes == "otlp":
                    self.running[app.name] = RunningApp(app, self.workdir, self.prom.otlp_url,
                                                        interval)
            for app in self.apps:
                if app.exposes == "otlp":
                    self.running[app.name].wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for r in self.running.values():
            r.stop()
        for server in self.servers.values():
            server.stop()

    def app(self, name: str) -> RunningApp:
        return self.running[name]

    def reload(self) -> None:
        """Every server re-reads its configuration and rule files."""
        for server in self.servers.values():
            server.reload()

    def check_alive(self) -> None:
        """Raise, with its log tail, if any app or server has died."""
        for name, r in self.running.items():
            r.process.check_alive(name)
        for name, server in self.servers.items():
            server.process.check_alive(f"prometheus {name}")

    def logs(self, lines: int = 15) -> str:
        """Tails of every app's and server's log, for failure messages."""
        parts = [f"--- {n} ---\n{log_tail(r.process.log, lines)}"
                 for n, r in self.running.items()]
        parts += [f"--- prometheus {n} ---\n{log_tail(p.process.log, lines)}"
                  for n, p in self.servers.items()]
        return "\n".join(parts)


@contextlib.contextmanager
def fleet(prometheus_binary: str, workdir: Path, apps: Sequence[App],
          **kwargs: Any) -> Iterator[Fleet]:
    """Functional spelling of ``with Fleet(...) as f``."""
    with Fleet(prometheus_binary, workdir, apps, **kwargs) as f:
        yield f
