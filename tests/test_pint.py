"""pint finds nothing in the rules rulegen generates (issue 11 item 4).

pint (github.com/cloudflare/pint) is the rule linter many users run in CI beside
`rulegen check`. Its offline checks (no Prometheus server: .pint.hcl configures none, and
`--offline` is passed too) run here on freshly generated rules: the Prometheus rule files, the
PrometheusRule objects of the operator target and the Mimir namespace files. "Nothing" means
exit code 0 with `--fail-on=warning`, an empty JSON report at every severity down to
information, and pint's own count of the rules it checked equal to the rules generated, so a
pass cannot come from files pint skipped. A deliberately broken rule file shows that the same
harness fails when pint does find something.

pint comes from scripts/get-pint.sh (`go install` at the pinned PINT_VERSION into .tools/bin,
as `make bootstrap` does). The tests of the real pint skip, with the script's own reason, only
when pint is not installed and cannot be built on this machine. The script itself is tested
here with a fake `go`, so its pinning, idempotence and failure reporting are checked anyway.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE, ROOT

GET_PINT = ROOT / "scripts" / "get-pint.sh"
PINT_CONFIG = ROOT / ".pint.hcl"
WORKFLOW = ROOT / "docs" / "ci" / "github-actions.yml"
PINT_MD = ROOT / "docs" / "pint.md"
MODULE = "github.com/cloudflare/pint"


def pinned_version() -> str:
    """PINT_VERSION's default in scripts/get-pint.sh (X.Y.Z, no v)."""
    m = re.search(r'^PINT_VERSION="\$\{PINT_VERSION:-([0-9.]+)\}"$', GET_PINT.read_text(), re.M)
    assert m, "scripts/get-pint.sh sets no default PINT_VERSION"
    return m.group(1)


def script_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would change which pint the script builds."""
    env = {k: v for k, v in os.environ.items() if k not in {"PINT", "PINT_VERSION", "GO"}}
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# the real pint


@pytest.fixture(scope="session")
def pint() -> Path:
    """pint at the pinned version in .tools/bin, built by scripts/get-pint.sh if missing."""
    p = subprocess.run(["bash", str(GET_PINT), str(ROOT / ".tools")], capture_output=True,
                       text=True, env=script_env(), timeout=2400)
    if p.returncode == 3:
        why = [ln for ln in p.stderr.splitlines() if ln.startswith("get-pint: unavailable:")]
        pytest.skip("pint is not installed and cannot be built here: "
                    + (why[-1].removeprefix("get-pint: unavailable: ") if why else p.stderr))
    assert p.returncode == 0, f"scripts/get-pint.sh failed ({p.returncode}):\n{p.stderr}"
    binary = ROOT / ".tools" / "bin" / "pint"
    recorded = (ROOT / ".tools" / "pint.version").read_text()
    assert f"{MODULE} v{pinned_version()}" in recorded, recorded
    return binary


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example inventory generated with the real CLI, all three targets: DIR/rules_out."""
    where = tmp_path_factory.mktemp("pint")
    p = subprocess.run([sys.executable, "-m", "rulegen", "generate", str(EXAMPLE),
                        "--out", "rules_out", "--target", "operator", "--target", "mimir"],
                       cwd=where, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0, p.stdout + p.stderr
    return where


@dataclass
class Lint:
    code: int
    stderr: str
    problems: list[dict[str, Any]]  # pint's JSON report, one entry per problem
    checked: int  # rules pint says it checked ("Checking Prometheus rules" entries=N)


def lint(pint: Path, cwd: Path, *paths: str) -> Lint:
    """`pint --offline lint` of paths (relative to cwd, as a user runs it), every severity."""
    report = cwd / "pint-report.json"
    report.unlink(missing_ok=True)
    cmd = [str(pint), "--no-color", "--offline", "--config", str(PINT_CONFIG), "lint",
           "--min-severity=info", "--fail-on=warning", f"--json={report}", *paths]
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    out = p.stdout + p.stderr
    assert "panic:" not in out, out
    m = re.search(r'msg="Checking Prometheus rules" entries=(\d+)[^\n]*', out)
    assert m, f"pint did not say how many rules it checked (exit {p.returncode}):\n{out}"
    assert "online=false" in m.group(0), m.group(0)
    assert report.is_file(), f"pint wrote no JSON report (exit {p.returncode}):\n{out}"
    problems = json.loads(report.read_text() or "[]")
    assert isinstance(problems, list), problems
    return Lint(p.returncode, out, problems, int(m.group(1)))


def field(obj: Any, name: str) -> Any:
    """obj[name] in any letter case (pint's JSON mixes tagged and untagged Go fields)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.lower() == name.lower():
                return v
    return None


def describe(problem: dict[str, Any]) -> str:
    inner = field(problem, "problem") or {}
    text = field(inner, "summary") or field(inner, "text") or ""
    return (f"{field(problem, 'reportedPath')}: {field(field(problem, 'rule'), 'name')}: "
            f"[{field(inner, 'reporter')}] severity {field(inner, 'severity')}: {text}")


def checks_reported(lint: Lint) -> set[tuple[str, str]]:
    """(file, check) for every problem pint reported."""
    return {(str(field(p, "reportedPath")), str(field(field(p, "problem"), "reporter")))
            for p in lint.problems}


def rule_count(path: Path) -> int:
    doc = yaml.safe_load(path.read_text())
    groups = doc["spec"]["groups"] if doc.get("kind") == "PrometheusRule" else doc["groups"]
    return sum(len(g["rules"]) for g in groups)


def rules_under(root: Path, *dirs: str) -> int:
    files = [f for d in dirs for f in sorted((root / d).rglob("*.y*ml"))]
    assert files, f"nothing generated under {dirs}"
    return sum(rule_count(f) for f in files)


def test_pint_finds_nothing_in_the_generated_prometheus_rules(pint: Path,
                                                             generated: Path) -> None:
    result = lint(pint, generated, "rules_out/rules")
    assert [describe(p) for p in result.problems] == [], result.stderr
    assert result.code == 0, result.stderr
    # every generated rule was parsed and checked: none was skipped as unreadable
    assert result.checked == rules_under(generated, "rules_out/rules") > 0


def test_pint_finds_nothing_in_the_operator_and_mimir_outputs(pint: Path,
                                                              generated: Path) -> None:
    # PrometheusRule objects and Mimir namespace files, read in .pint.hcl's relaxed mode
    result = lint(pint, generated, "rules_out/operator", "rules_out/mimir")
    assert [describe(p) for p in result.problems] == [], result.stderr
    assert result.code == 0, result.stderr
    assert result.checked == rules_under(generated, "rules_out/operator", "rules_out/mimir") > 0


BROKEN_RULES = """\
groups:
  - name: broken
    rules:
      - alert: Fine
        expr: up{job="x"} == 0
        for: 5m
      - alert: SyntaxError
        expr: sum(up{job="x"}
      - alert: NoCondition
        expr: up{job="x"}
"""

BROKEN_OPERATOR = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: broken}
spec:
  groups:
    - name: broken
      rules:
        - alert: SyntaxError
          expr: rate(up{job="x"})
"""


def test_pint_flags_broken_rules_so_these_tests_can_fail(pint: Path, tmp_path: Path) -> None:
    """The harness above really fails on findings, in both parsing modes."""
    rules = tmp_path / "rules_out" / "rules" / "go" / "broken.yml"
    crd = tmp_path / "rules_out" / "operator" / "go" / "broken.yaml"
    for path, text in ((rules, BROKEN_RULES), (crd, BROKEN_OPERATOR)):
        path.parent.mkdir(parents=True)
        path.write_text(text)
    result = lint(pint, tmp_path, "rules_out/rules", "rules_out/operator")
    assert result.code != 0, result.stderr
    assert result.checked == 4, result.stderr
    found = checks_reported(result)
    assert ("rules_out/rules/go/broken.yml", "promql/syntax") in found, result.problems
    assert ("rules_out/rules/go/broken.yml", "alerts/comparison") in found, result.problems
    assert ("rules_out/operator/go/broken.yaml", "promql/syntax") in found, result.problems
    # and the rule without a finding has none
    assert not [p for p in result.problems if field(field(p, "rule"), "name") == "Fine"]


# ---------------------------------------------------------------------------------------------
# scripts/get-pint.sh, with a fake go

FAKE_GO = r"""#!/bin/sh
# A stand-in for the go command: `go version [-m FILE]` and `go install PKG@VERSION`.
printf 'go %s | GOBIN=%s GOFLAGS=%s\n' "$*" "$GOBIN" "$GOFLAGS" >> "$FAKE_GO_LOG"
case "$1" in
version)
    if [ "$2" = "-m" ]; then
        v=$(sed -n 's/^# built from //p' "$3" 2>/dev/null)
        [ -n "$v" ] || exit 1
        printf '%s: go1.26.8\n\tpath\tgithub.com/cloudflare/pint/cmd/pint\n' "$3"
        printf '\tmod\tgithub.com/cloudflare/pint\t%s\th1:fake=\n' "$v"
    else
        echo "go version go1.26.8 linux/amd64"
    fi ;;
install)
    for a; do last=$a; done
    if [ -n "$FAKE_GO_REFUSE" ]; then
        printf 'go: %s: reading the module proxy: 403 Forbidden\n' "$last" >&2
        printf '\tserver response: This module version is not available.\n' >&2
        exit 1
    fi
    mkdir -p "$GOBIN"
    printf '#!/bin/sh\n# built from %s\necho "%s (revision: unknown)"\n' \
        "${last##*@}" "${last##*@}" > "$GOBIN/pint"
    chmod +x "$GOBIN/pint" ;;
*) exit 2 ;;
esac
"""


@dataclass
class FakeGo:
    path: Path
    log: Path

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def run(self, dest: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(GET_PINT), str(dest)], capture_output=True, text=True,
                              timeout=60,
                              env=script_env(GO=str(self.path), FAKE_GO_LOG=str(self.log), **env))


@pytest.fixture
def fake_go(tmp_path: Path) -> FakeGo:
    go = tmp_path / "fakego" / "go"
    go.parent.mkdir()
    go.write_text(FAKE_GO)
    go.chmod(0o755)
    return FakeGo(go, tmp_path / "go.log")


def test_get_pint_installs_the_pinned_version_once(fake_go: FakeGo, tmp_path: Path) -> None:
    dest, want = tmp_path / "tools", f"v{pinned_version()}"
    first = fake_go.run(dest)
    assert first.returncode == 0, first.stderr
    installs = [c for c in fake_go.calls() if c.startswith("go install")]
    assert len(installs) == 1, fake_go.calls()
    assert f"{MODULE}/cmd/pint@{want} " in installs[0], installs
    assert f"-X main.version={want}" in installs[0], installs
    assert f"GOBIN={dest.resolve()}/bin " in installs[0], installs
    assert "GOFLAGS=-modcacherw" in installs[0], installs
    assert (dest / "bin" / "pint").is_file()
    assert (dest / "pint.version").read_text().splitlines()[0] == f"{MODULE} {want}"
    # idempotent: the second run sees the pinned build and builds nothing
    second = fake_go.run(dest)
    assert second.returncode == 0, second.stderr
    assert "already present" in second.stderr
    assert len([c for c in fake_go.calls() if c.startswith("go install")]) == 1


def test_get_pint_replaces_a_pint_of_another_version(fake_go: FakeGo, tmp_path: Path) -> None:
    dest = tmp_path / "tools"
    (dest / "bin").mkdir(parents=True)
    old = dest / "bin" / "pint"
    old.write_text("#!/bin/sh\n# built from v0.1.0\necho 'v0.1.0 (revision: unknown)'\n")
    old.chmod(0o755)
    p = fake_go.run(dest)
    assert p.returncode == 0, p.stderr
    assert [c for c in fake_go.calls() if c.startswith("go install")], p.stderr
    assert f"# built from v{pinned_version()}" in old.read_text()


def test_get_pint_reuses_PINT_when_it_is_the_pinned_version(fake_go: FakeGo,
                                                             tmp_path: Path) -> None:
    mine = tmp_path / "elsewhere" / "pint"
    mine.parent.mkdir()
    mine.write_text(f"#!/bin/sh\n# built from v{pinned_version()}\necho ok\n")
    mine.chmod(0o755)
    p = fake_go.run(tmp_path / "tools", PINT=str(mine))
    assert p.returncode == 0, p.stderr
    assert not [c for c in fake_go.calls() if c.startswith("go install")]
    assert (tmp_path / "tools" / "bin" / "pint").read_text() == mine.read_text()


def test_get_pint_says_why_when_the_module_proxy_refuses(fake_go: FakeGo,
                                                         tmp_path: Path) -> None:
    p = fake_go.run(tmp_path / "tools", FAKE_GO_REFUSE="1")
    assert p.returncode == 3, p.stderr
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("get-pint: unavailable: go install "
                           f"{MODULE}/cmd/pint@v{pinned_version()} failed (exit 1): "), last
    assert "403 Forbidden server response: This module version is not available." in last
    assert not (tmp_path / "tools" / "bin" / "pint").exists()


def test_get_pint_says_why_without_a_go_command(tmp_path: Path) -> None:
    p = subprocess.run(["bash", str(GET_PINT), str(tmp_path / "tools")], capture_output=True,
                       text=True, timeout=60, env=script_env(GO=str(tmp_path / "no-such-go")))
    assert p.returncode == 3, p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith(
        "get-pint: unavailable: no go command"), p.stderr


# ---------------------------------------------------------------------------------------------
# one pinned version, no server


def test_the_ci_workflow_and_docs_install_the_pinned_pint() -> None:
    version = pinned_version()
    wf = yaml.safe_load(WORKFLOW.read_text())
    assert str(wf["env"]["PINT_VERSION"]) == version
    scripts = [str(s["run"]) for job in wf["jobs"].values() for s in job["steps"] if "run" in s]
    installs = [s for s in scripts if "go install" in s]
    assert len(installs) == 1, scripts
    assert f'"{MODULE}/cmd/pint@v${{PINT_VERSION}}"' in installs[0], installs[0]
    lints = [s for s in scripts if re.search(r"\bpint\b.*\blint\b", s)]
    assert lints and all("--offline" in s for s in lints), lints
    assert f"{MODULE}/cmd/pint@v{version}" in PINT_MD.read_text()


def test_pint_config_names_no_prometheus_server() -> None:
    """With no `prometheus` block pint cannot run an online check, even without --offline."""
    text = "\n".join(ln.split("#", 1)[0].split("//", 1)[0]
                     for ln in PINT_CONFIG.read_text().splitlines())
    assert not re.search(r"^\s*prometheus\s", text, re.M), text
    assert re.search(r"^\s*parser\s*\{", text, re.M), text
