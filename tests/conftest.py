"""Shared fixtures: the real promtool, the example inventory, a CLI runner."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

from rulegen.classes import INDEX, Identity

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "otel-demo" / "inventory.yaml"



def service_test(files: Mapping[str, str], service: str) -> tuple[str, str]:
    """(path, text) of the test file that proves `service` (`go/checkout`) in a compiled
    output's files (rulegen/classes.py): its class's canonical tests with the service's own
    identity values put back, which is what the service's own test file would hold; or the
    service's own test file when it is a class of its own."""
    for c in yaml.safe_load(files[INDEX])["classes"]:
        for m in c["services"]:
            if m["service"] == service:
                path = f"tests/{c['tests']}"
                if "identity" not in m:
                    return path, files[path]
                return path, Identity(tuple(m["identity"])).instantiate(files[path])
    raise KeyError(f"{service} is in no proof class")


def example_slice(*names: str) -> str:
    """The example inventory with only the named services (faster to prove than all 14)."""
    text = EXAMPLE.read_text()
    head, _, body = text.partition("services:\n")
    blocks = ["  - name: " + b for b in body.split("  - name: ")[1:]]
    return head + "services:\n" + "".join(b for b in blocks if b.split()[2] in names)


# CI runs derandomized so a red build is reproducible (`make test` passes the profile under CI).
settings.register_profile("ci", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# The promtool/prometheus release lines `make bootstrap` puts side by side, each in
# .tools/prometheus-<line>/bin/ (scripts/get-promtool.sh --line). The tests that take
# `promtool_path` (or `prometheus_path`) run once per line, with the line as the test id:
# test_promtool_check_rules_passes[2.42], ...[3.5]. These are always the bootstrapped binaries,
# whatever $PROMTOOL says ($PROMTOOL is what rulegen itself finds, for the other tests).
PROMTOOL_LINES = ("2.42", "3.5")
DEFAULT_LINE = "2.42"  # also in .tools/bin/ (the Makefile's PROMTOOL_DEFAULT)


def line_dir(line: str) -> Path:
    return ROOT / ".tools" / f"prometheus-{line}"


@functools.cache
def _line_binary(line: str, name: str) -> tuple[str | None, str]:
    """(path, "") of the bootstrapped `name` of `line`, or (None, why not). Checked once."""
    path = line_dir(line) / "bin" / name
    if not os.access(path, os.X_OK):
        unavailable = line_dir(line) / "UNAVAILABLE"
        if unavailable.is_file():  # `make bootstrap` could not fetch it and said why
            return None, f"{unavailable.read_text().strip()} (recorded in {unavailable})"
        return None, f"no {name} {line} at {path}: run `make bootstrap`"
    try:
        p = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
        first = (p.stdout + p.stderr).strip().splitlines()[0] if p.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired, IndexError) as e:
        first = f"({e})"
    if not re.match(rf"{name}, version v?{re.escape(line)}\.\d", first):
        return None, (f"{path} is not {name} {line}.x (`--version`: {first or 'failed'}): "
                      "run `make clean bootstrap`")
    return str(path), ""


def line_binary(line: str, name: str) -> str:
    """The bootstrapped `name` (promtool or prometheus) of release line `line`. A line that
    `make bootstrap` recorded as unavailable skips, naming the reason; a missing or wrong binary
    fails for the default line and skips, naming it, for the others."""
    path, why = _line_binary(line, name)
    if path is not None:
        return path
    if line == DEFAULT_LINE and not (line_dir(line) / "UNAVAILABLE").is_file():
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="session", params=PROMTOOL_LINES)
def promtool_line(request: pytest.FixtureRequest) -> str:
    """Each bootstrapped promtool/prometheus release line in turn; the test id names it."""
    return str(request.param)


@pytest.fixture(scope="session")
def promtool_path(promtool_line: str) -> str:
    """The real promtool binary of `promtool_line` (bootstrapped into .tools/)."""
    return line_binary(promtool_line, "promtool")


@pytest.fixture(scope="session")
def prometheus_path(promtool_line: str) -> str:
    """The real prometheus server binary of `promtool_line` (same package as its promtool)."""
    return line_binary(promtool_line, "prometheus")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def rulegen(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the real CLI in a subprocess (exit code, stdout and stderr together)."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        # A developer's proof cache must not turn the tests' proofs into cache hits.
        env = {**{k: v for k, v in os.environ.items() if k != "RULEGEN_CACHE_DIR"},
               "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-m", "rulegen", *args], cwd=cwd or tmp_path,
                           capture_output=True, text=True, env=env, timeout=300)
        return Run(p.returncode, p.stdout, p.stderr)

    return run
