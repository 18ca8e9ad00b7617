"""CI-friendly reporting, through the real CLI and the real promtool: every report format parses
for a passing run, a failing run and an invalid inventory (JUnit against tests/junit.xsd, JSON
with json.loads, GitHub annotations by their syntax); a piped run says how far it is while it
runs; NO_COLOR is honoured.

A slice of the example keeps promtool's time low: accounting (about 6 s of promtool) and
frontend (about 7 s), proved side by side.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import xmlschema
import yaml

from rulegen.classes import is_test_file, read_index
from rulegen.errors import ExitCode
from rulegen.progress import LineProgress
from rulegen.prove import ServiceResult
from tests.conftest import ROOT, example_slice

SLICE = ("accounting", "frontend")
SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "junit.xsd")
FORMATS = ("text", "json", "junit", "github")
# ::error file=<path>,line=<n>,col=<n>,title=<check>::<message>, as GitHub Actions reads it
ANNOTATION_RE = re.compile(
    r"^::(?P<level>error|warning|notice)"
    r"(?: file=(?P<file>[^,:]+)(?:,line=(?P<line>\d+)(?:,col=(?P<col>\d+))?)?"
    r",title=(?P<title>[^,:]+)| title=(?P<only_title>[^,:]+))"
    r"::(?P<message>.+)$")
HEARTBEAT_RE = re.compile(r"^rulegen: \d+/2 services proved, \d+ cases( \(\d+ failed\))?, "
                          r"\d+m\d\ds$")
ANSI = "\x1b["


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run(cwd: Path, *args: str, **env: str) -> Run:
    p = subprocess.run([sys.executable, "-m", "rulegen", *args], cwd=cwd, capture_output=True,
                       text=True, env=env_for(**env), timeout=300)
    return Run(p.returncode, p.stdout, p.stderr)


def case_names(test_file: Path) -> list[tuple[str, str]]:
    """(group, case) of a generated test file, read here from the YAML: a group of one case is
    named by its group; the cases of a `<family>/batch` group by their expressions' comments."""
    found = []
    for group in yaml.safe_load(test_file.read_text())["tests"]:
        if not group["name"].endswith("/batch"):
            found.append((group["name"], group["name"]))
        else:
            for t in group["promql_expr_test"]:
                found.append((group["name"], t["expr"].rsplit("#", 1)[1].strip()))
    return list(dict.fromkeys(found))


def junit(xml: str) -> ET.Element:
    """The report, valid against the schema, with every count equal to what it counts."""
    SCHEMA.validate(xml)
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counted = {"tests": len(cases),
                   "failures": sum(c.find("failure") is not None for c in cases),
                   "errors": sum(c.find("error") is not None for c in cases),
                   "skipped": sum(c.find("skipped") is not None for c in cases)}
        assert {k: int(suite.get(k, "-1")) for k in counted} == counted, suite.get("name")
        for k in totals:
            totals[k] += counted[k]
    assert {k: int(root.get(k, "-1")) for k in totals} == totals
    return root


def github_annotations(stdout: str) -> list[re.Match[str]]:
    lines = stdout.splitlines()
    found = [ANNOTATION_RE.match(line) for line in lines]
    assert all(found), [ln for ln, m in zip(lines, found, strict=True) if not m]
    return [m for m in found if m]


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("passing")
    (cwd / "inventory.yaml").write_text(example_slice(*SLICE))
    assert run(cwd, "generate", "inventory.yaml").code == 0
    return cwd


def class_file(cwd: Path, service: str, rules: bool = False) -> str:
    """The test file (or canonical rule file) of the proof class of `service`
    (`nodejs/frontend`), relative to cwd."""
    [c] = [c for c in read_index(cwd / "rules_out") or [] if service in c.services]
    return f"rules_out/tests/{c.rules if rules else c.tests}"


@pytest.fixture(scope="module")
def failing(passing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The limit-ratio threshold raised from 0.8 to 0.95 in the canonical rule file of
    frontend's proof class, the file its tests prove (rulegen/classes.py)."""
    cwd = tmp_path_factory.mktemp("failing")
    shutil.copy(passing / "inventory.yaml", cwd)
    shutil.copytree(passing / "rules_out", cwd / "rules_out")
    rules = cwd / class_file(cwd, "nodejs/frontend", rules=True)
    text = rules.read_text()
    assert text.count(") > 0.8\n") == 1
    rules.write_text(text.replace(") > 0.8\n", ") > 0.95\n"))
    return cwd


@pytest.fixture(scope="module")
def passing_runs(passing: Path) -> dict[str, Run]:
    return {fmt: run(passing, "check", "inventory.yaml", "--format", fmt) for fmt in FORMATS}


@pytest.fixture(scope="module")
def failing_runs(failing: Path) -> dict[str, Run]:
    return {fmt: run(failing, "check", "inventory.yaml", "--format", fmt) for fmt in FORMATS}


# --- a passing run ---------------------------------------------------------------------------


def test_passing_junit_has_every_generated_case(passing: Path,
                                                passing_runs: dict[str, Run]) -> None:
    r = passing_runs["junit"]
    assert r.code == ExitCode.OK, r.stderr
    root = junit(r.stdout)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"rulegen check: findings", "dotnet/accounting", "nodejs/frontend"}
    for name in ("dotnet/accounting", "nodejs/frontend"):
        expected = case_names(passing / class_file(passing, name))
        cases = suites[name].findall("testcase")
        assert [c.get("name") for c in cases] == [case for _, case in expected]
        assert {c.get("classname") for c in cases} == {name.replace("/", ".")}
        groups = {g for g, _ in expected}
        assert len(groups) >= 5 and any(g.endswith("/batch") for g in groups)
        assert all(len(c) == 0 for c in cases), "a passing case has no failure or skipped"
    assert root.get("failures") == "0"
    # the two rule files and frontend's limit file, checked by promtool and the lint without
    # findings
    assert [c.get("name") for c in suites["rulegen check: findings"]] == [
        "rules_out/rules/dotnet/accounting.yml",
        "rules_out/rules/limits/kube-state-metrics-b59b9cd2.yml",
        "rules_out/rules/nodejs/frontend.yml"]


def test_passing_summary_counts(passing: Path, passing_runs: dict[str, Run]) -> None:
    total = sum(len(case_names(f)) for f in passing.rglob("rules_out/tests/**/*.yml")
                if is_test_file(f.relative_to(passing / "rules_out").as_posix()))
    for fmt, r in passing_runs.items():
        m = re.search(r"^rulegen check: 2 services in 2 classes, (\d+) cases, "
                      r"promtool \d+\.\d+\.\d+; "
                      r"no findings: passed$", r.stderr, re.M)
        assert m, (fmt, r.stderr)
        assert int(m[1]) == total
        assert r.stdout.count("services, ") == 0, "the summary is on stderr, not in the report"


def test_passing_json_github_text(passing_runs: dict[str, Run]) -> None:
    assert passing_runs["json"].code == ExitCode.OK
    assert json.loads(passing_runs["json"].stdout) == []
    assert github_annotations(passing_runs["github"].stdout) == []
    assert passing_runs["text"].stdout == ""


# --- a failing run ---------------------------------------------------------------------------


def test_failing_junit_names_the_failing_cases(failing: Path,
                                               failing_runs: dict[str, Run]) -> None:
    r = failing_runs["junit"]
    assert r.code == ExitCode.FINDINGS
    root = junit(r.stdout)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    failed = {c.get("name"): c.find("failure") for c in suites["nodejs/frontend"]
              if c.find("failure") is not None}
    assert "limit-ratio/over-ratio" in failed
    assert all(str(name).startswith("limit-ratio/") for name in failed), failed
    text = failed["limit-ratio/over-ratio"].text or ""  # type: ignore[union-attr]
    assert "alertname: MemoryNearLimit" in text and "got:" in text  # promtool's own words
    assert all(c.find("failure") is None for c in suites["dotnet/accounting"])
    findings = suites["rulegen check: findings"]
    [stale] = [c for c in findings if c.get("classname") == "drift/stale"]
    canonical = class_file(failing, "nodejs/frontend", rules=True)
    assert stale.get("name", "").startswith(f"{canonical}:")
    assert stale.find("failure") is not None
    # and prove's own check of the class: the canonical form is not what its digest names
    [edited] = [c for c in findings if c.get("classname") == "prove/classes"]
    assert edited.find("failure") is not None
    assert not [c for c in findings if c.get("classname") == "promtool/test"]  # not twice
    assert int(root.get("failures", "0")) == len(failed) + 2


def test_failing_json_and_github_point_at_the_case(failing: Path,
                                                   failing_runs: dict[str, Run]) -> None:
    rows = json.loads(failing_runs["json"].stdout)
    assert failing_runs["json"].code == ExitCode.FINDINGS
    tests = [x for x in rows if x["check"] == "promtool/test"]
    assert tests and all(x["severity"] == "error" for x in tests)
    path = class_file(failing, "nodejs/frontend")
    test_file = (failing / path).read_text().splitlines()
    for x in tests:  # the line of the failing case: its group's name or its expression
        assert x["path"] == path and x["line"] > 0
        case = re.search(r"case '([^']+)'", x["message"])
        assert case, x["message"]
        assert case[1] in test_file[x["line"] - 1], (x, test_file[x["line"] - 1])
        assert test_file[x["line"] - 1][x["column"] - 1:].startswith(("name:", "expr:"))
    found = github_annotations(failing_runs["github"].stdout)
    by_title = {m["title"]: m for m in found}
    assert {"drift/stale", "promtool/test"} <= set(by_title)
    for title in ("drift/stale", "promtool/test"):
        m = by_title[title]
        assert m["level"] == "error" and m["line"] and m["col"], m[0]
    assert "promtool/test" in failing_runs["text"].stdout
    assert ANSI not in failing_runs["text"].stdout


def test_failing_summary(failing_runs: dict[str, Run]) -> None:
    for fmt, r in failing_runs.items():
        assert re.search(r"^rulegen check: 2 services in 2 classes, \d+ cases \([1-9]\d* failed\), "
                         r"promtool [\d.]+; \d+ errors: FAILED$", r.stderr, re.M), (fmt, r.stderr)


def test_rulegen_test_junit(failing: Path) -> None:
    """`rulegen test --format junit`: the same cases, without the drift of `check`."""
    r = run(failing, "test", "inventory.yaml", "--format", "junit")
    assert r.code == ExitCode.FINDINGS
    root = junit(r.stdout)
    [suite] = [s for s in root.findall("testsuite") if s.get("name") == "nodejs/frontend"]
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert "limit-ratio/over-ratio" in failed and all(
        n and n.startswith("limit-ratio/") for n in failed)
    assert re.search(r"^rulegen test: 2 services in 2 classes, \d+ cases \(\d+ failed\), "
                     r"promtool [\d.]+: "
                     r"FAILED$", r.stderr, re.M)


# --- an invalid inventory --------------------------------------------------------------------

BAD = example_slice("checkout").replace("threshold: 2MiB/h", "treshold: 2MiB/h").replace(
    "runtime: go", "runtime: ruby")


def bad_places() -> set[tuple[int, int]]:
    """Where the two mistakes are, found in the text here."""
    lines = BAD.splitlines()
    return {(n + 1, line.index(word) + 1) for n, line in enumerate(lines)
            for word in ("treshold", "ruby") if word in line}


@pytest.fixture(scope="module")
def invalid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("invalid")
    (cwd / "inventory.yaml").write_text(BAD)
    assert len(bad_places()) == 2
    return cwd


@pytest.mark.parametrize("command", ["check", "test", "validate"])
@pytest.mark.parametrize("fmt", ["json", "junit", "github"])
def test_invalid_inventory_in_every_format(invalid: Path, command: str, fmt: str) -> None:
    r = run(invalid, command, "inventory.yaml", "--format", fmt)
    assert r.code == ExitCode.BAD_INPUT
    assert "inventory.yaml:" in r.stderr  # the usual messages stay on stderr
    places: set[tuple[int, int]]
    if fmt == "json":
        rows: list[dict[str, Any]] = json.loads(r.stdout)
        places = {(x["line"], x["column"]) for x in rows if x["check"] == "inventory"
                  and x["severity"] == "error" and x["path"] == "inventory.yaml"}
        assert any("treshold" in x["message"] for x in rows)
    elif fmt == "junit":
        root = junit(r.stdout)
        cases = list(root.iter("testcase"))
        assert all(c.get("classname") == "inventory" and c.find("failure") is not None
                   for c in cases)
        where = [(c.get("name") or "").split(":") for c in cases]
        places = {(int(w[1]), int(w[2])) for w in where if len(w) == 3}
        assert root.get("failures") == str(len(cases))
    else:
        found = github_annotations(r.stdout)
        assert all(m["level"] == "error" and m["file"] == "inventory.yaml"
                   and m["title"] == "inventory" for m in found)
        places = {(int(m["line"]), int(m["col"])) for m in found}
    assert places >= bad_places()


def test_invalid_inventory_text_is_unchanged(invalid: Path) -> None:
    r = run(invalid, "check", "inventory.yaml", "--format", "text")
    assert (r.code, r.stdout) == (ExitCode.BAD_INPUT, "")
    assert {(int(m[1]), int(m[2])) for m in re.finditer(r"^inventory\.yaml:(\d+):(\d+): ",
                                                         r.stderr, re.M)} >= bad_places()


def test_missing_inventory_is_a_finding(tmp_path: Path) -> None:
    r = run(tmp_path, "validate", "nope.yaml", "--format", "json")
    assert r.code == ExitCode.BAD_INPUT
    assert json.loads(r.stdout) == [{"path": "nope.yaml", "line": 0, "column": 0,
                                     "severity": "error", "check": "inventory",
                                     "message": "no such inventory file"}]


def test_unusable_promtool_is_a_finding(passing: Path) -> None:
    r = run(passing, "check", "inventory.yaml", "--format", "github",
            PROMTOOL=str(passing / "no-such-promtool"))
    assert r.code == ExitCode.PROMTOOL
    [m] = github_annotations(r.stdout)
    assert m["level"] == "error" and m["only_title"] == "promtool"
    assert "no-such-promtool" in m["message"]


def test_validate_formats_a_valid_inventory(passing: Path) -> None:
    r = run(passing, "validate", "inventory.yaml", "--format", "json")
    assert (r.code, json.loads(r.stdout)) == (ExitCode.OK, [])
    assert r.stderr == "inventory.yaml: 2 services, valid\n"
    t = run(passing, "validate", "inventory.yaml")
    assert (t.code, t.stdout) == (ExitCode.OK, "inventory.yaml: 2 services, valid\n")


# --- progress while a piped run works --------------------------------------------------------


def slow_promtool(tmp: Path, test_file: str) -> Path:
    """The real promtool, but the tests of `test_file` (frontend's class) start 4 s late:
    accounting's result is in long before the run ends."""
    real = os.environ.get("PROMTOOL") or str(ROOT / ".tools" / "bin" / "promtool")
    script = tmp / "slow-promtool"
    script.write_text(f'#!/bin/sh\ncase "$*" in "test rules "*{test_file}) sleep 4;; esac\n'
                      f'exec "{real}" "$@"\n')
    script.chmod(0o755)
    return script


@dataclass
class Line:
    text: str
    at: float
    running: bool  # the process had not exited when the line was read


@pytest.mark.parametrize("command", ["check", "test"])
def test_piped_run_reports_progress_while_it_runs(passing: Path, tmp_path: Path,
                                                  command: str) -> None:
    slow = class_file(passing, "nodejs/frontend").rsplit("/", 1)[1]
    env = env_for(PROMTOOL=str(slow_promtool(tmp_path, slow)), RULEGEN_PROGRESS_INTERVAL="1")
    env.pop("CI", None)  # a plain pipe, not CI: progress lines all the same
    proc = subprocess.Popen([sys.executable, "-m", "rulegen", command, "inventory.yaml",
                             "--format", "json"], cwd=passing, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[Line] = []
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()))  # type: ignore[union-attr]
    reader.start()
    assert proc.stderr is not None
    for text in iter(proc.stderr.readline, ""):  # incrementally, as the run writes it
        lines.append(Line(text.rstrip("\n"), time.monotonic(), proc.poll() is None))
    code = proc.wait(timeout=300)
    reader.join()
    ended = time.monotonic()
    assert code == ExitCode.OK, "\n".join(ln.text for ln in lines)
    assert json.loads(stdout[0]) == []  # stdout is the report alone
    [accounting] = [ln for ln in lines if re.fullmatch(r"accounting: \d+ cases ok", ln.text)]
    [frontend] = [ln for ln in lines if re.fullmatch(r"frontend: \d+ cases ok", ln.text)]
    assert accounting.running and ended - accounting.at > 2, "the line came only at the end"
    beats = [ln for ln in lines if HEARTBEAT_RE.match(ln.text)]
    assert [ln for ln in beats if ln.running and ln.at < frontend.at and
            ln.text.startswith("rulegen: 1/2 services proved")], lines
    assert all(ANSI not in ln.text and "\r" not in ln.text for ln in lines)


def test_bad_progress_interval_is_bad_usage(passing: Path) -> None:
    r = run(passing, "check", "inventory.yaml", RULEGEN_PROGRESS_INTERVAL="soon")
    assert r.code == ExitCode.BAD_INPUT
    assert "RULEGEN_PROGRESS_INTERVAL='soon'" in r.stderr


def test_heartbeat_while_silent_only() -> None:
    """A heartbeat when nothing was said for an interval; a service line resets the wait."""
    said: list[str] = []
    result = ServiceResult("out/rules/go/checkout.yml", "out/tests/go/checkout.yml", 3)
    with LineProgress(said.append, 0.2) as p:
        p.stage("promtool check rules on 1 rule file")
        time.sleep(0.5)
        p.tests_started(1, 1)
        p.service_done(result)
        time.sleep(0.5)
    done = said.index("checkout: 3 cases ok")
    assert said[:done] and all(
        s == "rulegen: promtool check rules on 1 rule file, 0m00s" for s in said[:done])
    assert said[done + 1:] and all(
        s == "rulegen: 1/1 services proved, 3 cases, 0m00s" for s in said[done + 1:])
    with LineProgress(said.append, 0) as p:  # 0: no heartbeat
        n = len(said)
        time.sleep(0.2)
        assert len(said) == n


# --- color -----------------------------------------------------------------------------------


def on_a_terminal(cwd: Path, *args: str, **env: str) -> str:
    """stdout and stderr of the CLI run on a pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rulegen", *args], cwd=cwd,
                            env=env_for(**env), stdin=subprocess.DEVNULL, stdout=follower,
                            stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal's other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_no_color(tmp_path: Path) -> None:
    (tmp_path / "hand.yml").write_text("""groups:
  - name: hand
    rules:
      - alert: RssHigh
        expr: process_resident_memory_bytes / container_spec_memory_limit_bytes > 0.9
        labels: {severity: warning}
""")
    colored = on_a_terminal(tmp_path, "lint", "hand.yml")
    assert "promql/division-guard" in colored and ANSI in colored
    for value in ("1", "true", "0"):
        plain = on_a_terminal(tmp_path, "lint", "hand.yml", NO_COLOR=value)
        assert "promql/division-guard" in plain and ANSI not in plain
    assert ANSI in on_a_terminal(tmp_path, "lint", "hand.yml", NO_COLOR="")
    piped = run(tmp_path, "lint", "hand.yml")
    assert "promql/division-guard" in piped.stdout and ANSI not in piped.stdout
