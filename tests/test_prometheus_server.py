"""A real Prometheus server loads every generated group healthy, before and after a reload.

The server is the `prometheus` binary from the same package as promtool, once per release line
(`make bootstrap` puts each in .tools/prometheus-<line>/bin/; the test id names the line), on a
free loopback port with a temporary data directory.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from rulegen.generate import compile_inventory
from rulegen.writer import write_tree
from tests.conftest import EXAMPLE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, prometheus: str, workdir: Path, rules_globs: list[str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        # Prometheus allows a glob in the last path element only: one pattern per runtime.
        globs = "".join(f"  - {g}\n" for g in rules_globs)
        config.write_text(f"global:\n  evaluation_interval: 2s\nrule_files:\n{globs}")
        self.log = (workdir / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [prometheus, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def get(self, path: str) -> dict:  # type: ignore[type-arg]
        with urllib.request.urlopen(self.url + path, timeout=5) as r:
            return json.loads(r.read())  # type: ignore[no-any-return]

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("prometheus did not become ready")

    def rules(self) -> dict[str, list[dict]]:  # type: ignore[type-arg]
        groups = self.get("/api/v1/rules")["data"]["groups"]
        return {g["name"]: g["rules"] for g in groups}

    def reload(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def server_and_out(prometheus_path: str, tmp_path: Path) -> Iterator[tuple[Server, Path, Path]]:
    inv = tmp_path / "inventory.yaml"
    shutil.copy(EXAMPLE, inv)
    out = tmp_path / "rules_out"
    write_tree(out, compile_inventory(inv, out).files)
    # every runtime's rule files, and the fleet's limit files (rules/limits/)
    dirs = ["go", "nodejs", "python", "jvm", "dotnet", "process", "limits"]
    server = Server(prometheus_path, tmp_path, [f"{out}/rules/{d}/*.yml" for d in dirs])
    try:
        yield server, inv, out
    finally:
        server.stop()


def wait_for(predicate, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def test_every_generated_group_loads_healthy_and_reload_applies_changes(server_and_out) -> None:  # type: ignore[no-untyped-def]
    server, inv, out = server_and_out
    expected = {f"rulegen.{p.stem}" for p in out.glob("rules/*/*.yml")
                if p.parent.name != "limits"}
    expected |= {f"rulegen.limit.{p.stem}" for p in out.glob("rules/limits/*.yml")}
    assert len(expected) > 14  # the services and the limit groups
    wait_for(lambda: set(server.rules()) == expected)
    rules = server.rules()
    kinds = Counter(r["type"] for g in rules.values() for r in g)
    files = [p.read_text() for p in out.glob("rules/*/*.yml")]
    assert kinds == {"alerting": sum(t.count("- alert:") for t in files),
                     "recording": sum(t.count("- record:") for t in files)}
    assert kinds["recording"] > 14
    # health is "unknown" until a rule has been evaluated once; never "err" (a recording rule
    # that wrote clashing series would be)
    wait_for(lambda: all(r["health"] == "ok" for g in server.rules().values() for r in g),
             timeout=30)

    text = inv.read_text().replace("threshold: 2MiB/h", "threshold: 3MiB/h")
    assert text != inv.read_text()
    inv.write_text(text)
    write_tree(out, compile_inventory(inv, out).files)
    server.reload()

    def threshold_live() -> bool:
        growth = [r for r in server.rules()["rulegen.checkout"]
                  if r["name"] == "MemoryLeakSuspected"]
        if not growth:
            return False
        # The API shows the parsed expression, each version printing numbers its own way:
        # 2.42 as 3.145728e+06, 3.x as 3145728. Compared as numbers.
        compared = {float(n) for n in re.findall(r"> ([0-9.]+(?:e[+-]?[0-9]+)?)",
                                                 growth[0]["query"])}
        return 3 * 2**20 in compared and 2 * 2**20 not in compared

    wait_for(threshold_live)
    assert set(server.rules()) == expected
