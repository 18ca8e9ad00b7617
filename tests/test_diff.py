"""`rulegen diff`: a threshold change in the inventory is one changed alert."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.fixture
def committed(tmp_path: Path, rulegen) -> Path:  # type: ignore[no-untyped-def]
    """The example and its generated rules, committed in a fresh git repository."""
    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    assert rulegen("generate", "inventory.yaml").code == 0
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def test_threshold_change_is_one_changed_alert(committed: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    tmp_path = committed
    assert rulegen("diff", "inventory.yaml").stdout.strip() == "no alert changes"

    inv = tmp_path / "inventory.yaml"
    inv.write_text(inv.read_text().replace("threshold: 2MiB/h", "threshold: 3MiB/h"))
    r = rulegen("diff", "inventory.yaml", "--base", "HEAD")
    assert r.code == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("~ checkout: MemoryLeakSuspected changed: threshold 2097152 → "
                               "3145728")

    md = rulegen("diff", "inventory.yaml", "--markdown").stdout
    assert "0 added, 0 removed, 1 changed" in md
    assert "| checkout | MemoryLeakSuspected | changed | threshold 2097152 → 3145728" in md


def test_removed_service_shows_removed_alerts(committed: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    tmp_path = committed
    inv = tmp_path / "inventory.yaml"
    text = inv.read_text()
    inv.write_text(text[:text.index("  - name: shipping")])
    lines = rulegen("diff", "inventory.yaml").stdout.strip().splitlines()
    assert lines and all(ln.startswith("- shipping: ") and ln.endswith("removed") for ln in lines)


def test_a_committed_rule_file_that_is_not_yaml_is_a_user_error() -> None:
    """A hand-edited committed file is the user's to mend: a message naming it, exit 2, not a
    traceback."""
    from rulegen import diff
    from rulegen.errors import ExitCode, UserError

    with pytest.raises(UserError) as exc:
        diff.compare({"rules/go/checkout.yml": "groups: [\n"}, {})
    assert exc.value.exit_code == ExitCode.BAD_INPUT
    assert str(exc.value).startswith("rules/go/checkout.yml: not YAML")


def test_an_evaluation_interval_change_shows_on_every_alert_of_the_service(  # type: ignore[no-untyped-def]
        committed: Path, rulegen) -> None:
    """An interval moves when every alert of the service can fire, so diff names it, and the
    default `for:` written as the interval's multiple with it."""
    inv = committed / "inventory.yaml"
    head = "  - name: checkout\n    runtime: go\n"
    assert head in inv.read_text()
    inv.write_text(inv.read_text().replace(head, head + "    evaluation_interval: 4m\n"))
    lines = rulegen("diff", "inventory.yaml").stdout.strip().splitlines()
    assert lines and all(ln.startswith("~ checkout: ") for ln in lines), lines
    assert all("evaluated every (global interval) → 4m" in ln for ln in lines)
    assert "~ checkout: MemoryNearLimit changed: evaluated every (global interval) → 4m; " \
           "for 5m → 8m" in lines
