"""Shared fixtures: the real promtool, the example inventory, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "otel-demo" / "inventory.yaml"



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


@pytest.fixture(scope="session")
def promtool_path() -> str:
    """The real promtool binary (bootstrapped by `make test` into .tools/)."""
    candidates = [os.environ.get("PROMTOOL"), str(ROOT / ".tools" / "bin" / "promtool")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    pytest.fail("promtool not found: run `make bootstrap` or set PROMTOOL")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def rulegen(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the real CLI in a subprocess (exit code, stdout and stderr together)."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-m", "rulegen", *args], cwd=cwd or tmp_path,
                           capture_output=True, text=True, env=env, timeout=300)
        return Run(p.returncode, p.stdout, p.stderr)

    return run
