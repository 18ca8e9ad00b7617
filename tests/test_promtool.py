"""rulegen.promtool: finding promtool, and reading `check rules` / `test rules` output.

Tests marked `promtool` run the real binary (`make test` exports PROMTOOL=.tools/bin/promtool);
the wrapper's error paths use small fake executables written to tmp_path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rulegen import promtool as pm
from rulegen.classes import read_index
from rulegen.errors import ExitCode, PromtoolUnusable
from tests.conftest import ROOT, example_slice

real = pytest.mark.promtool

LEAK_RULES = """\
groups:
  - name: leak
    rules:
      - alert: MemoryLeak
        expr: deriv(mem[10m]) > 1
        labels: {severity: warning}
      - record: job:mem:deriv10m
        expr: deriv(mem[10m])
"""


def _leak_test(exp_alerts: str, rule_files: str = "[rules.yml]") -> str:
    return f"""\
rule_files: {rule_files}
evaluation_interval: 1m
tests:
  - name: leak-group
    interval: 1m
    input_series:
      - series: 'mem{{job="api"}}'
        values: '0+120x30'
    alert_rule_test:
      - eval_time: 15m
        alertname: MemoryLeak
        exp_alerts: {exp_alerts}
"""


FIRING = "[{exp_labels: {job: api, severity: warning}}]"


@pytest.fixture(scope="module")
def pt() -> pm.Promtool:
    return pm.find_promtool()


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return _write


def _fake(path: Path, body: str) -> Path:
    """An executable shell script standing in for promtool."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _fake_version(path: Path, version: str) -> Path:
    return _fake(path, f'echo "promtool, version {version} (branch: fake)"')


# --- version -------------------------------------------------------------------------------


@real
def test_real_promtool_version_matches_its_text(pt: pm.Promtool) -> None:
    major, minor, patch = pt.version
    assert pt.version_text.startswith(f"promtool, version {major}.{minor}.{patch}")
    assert pt.version >= (2, 42, 0)
    assert Path(pt.path).is_absolute()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("promtool, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5)", (2, 42, 0)),
        ("promtool, version 3.0.0-rc.1 (branch: HEAD, revision: abc)", (3, 0, 0)),
        ("promtool, version 2.53.4 (branch: HEAD)", (2, 53, 4)),
        ("prometheus, version 2.42.0 (branch: HEAD)", None),
        ("promtool, version unknown", None),
        ("", None),
    ],
)
def test_parse_version(line: str, expected: tuple[int, int, int] | None) -> None:
    assert pm.parse_version(line) == expected


# --- check rules (real promtool) -----------------------------------------------------------


@real
def test_check_valid_file(pt: pm.Promtool, write: Callable[[str, str], Path]) -> None:
    [result] = pm.check_rules(pt, [write("rules.yml", LEAK_RULES)])
    assert result.ok
    assert result.rules == 2
    assert result.errors == ()
    assert result.lint == ()


@real
def test_check_invalid_file_reports_the_parse_error(
    pt: pm.Promtool, write: Callable[[str, str], Path]
) -> None:
    bad = write("bad.yml", LEAK_RULES.replace("deriv(mem[10m]) > 1", "deriv(mem[10m] > 1"))
    [result] = pm.check_rules(pt, [bad])
    assert not result.ok
    assert result.rules is None
    assert any('"MemoryLeak"' in e and "parse error" in e for e in result.errors)


@real
def test_check_yaml_error_is_reported_once(
    pt: pm.Promtool, write: Callable[[str, str], Path]
) -> None:
    [result] = pm.check_rules(pt, [write("broken.yml", "groups: [\n")])
    assert not result.ok
    assert len(result.errors) == 1  # promtool 2.42 prints it twice
    assert "yaml" in result.errors[0]


@real
def test_check_missing_file(pt: pm.Promtool, tmp_path: Path) -> None:
    [result] = pm.check_rules(pt, [tmp_path / "nope.yml"])
    assert not result.ok
    assert any("does not exist" in e for e in result.errors)


@real
def test_duplicate_rules_are_lint_not_errors(
    pt: pm.Promtool, write: Callable[[str, str], Path]
) -> None:
    dup = LEAK_RULES + textwrap.indent(
        "- alert: MemoryLeak\n  expr: mem > 1\n  labels: {severity: warning}\n", " " * 6
    )
    path = write("dup.yml", dup)
    [linted] = pm.check_rules(pt, [path])
    assert linted.ok  # promtool exits 0 on lint findings without --lint-fatal
    assert linted.errors == ()
    assert linted.lint[0] == "lint error 1 duplicate rule(s) found."
    assert "Metric: MemoryLeak" in linted.lint
    [unlinted] = pm.check_rules(pt, [path], lint="none")
    assert unlinted.lint == ()
    assert unlinted.rules == 3


@real
def test_check_results_keep_input_order_and_batch_agrees(
    pt: pm.Promtool, write: Callable[[str, str], Path], tmp_path: Path
) -> None:
    good = write("a/good.yml", LEAK_RULES)
    bad = write("b/bad.yml", LEAK_RULES.replace("> 1", ">"))
    empty = write("c/empty.yml", "")
    files = [bad, good, empty, good]
    results = pm.check_rules(pt, files)
    assert [r.file for r in results] == [str(f) for f in files]
    assert [(r.ok, r.rules) for r in results] == [(False, None), (True, 2), (True, 0), (True, 2)]
    assert pm.check_rules_batch(pt, files) == results
    # A missing file aborts a multi-file promtool run; the batch falls back to one per file.
    with_missing = [*files, tmp_path / "missing.yml"]
    assert pm.check_rules_batch(pt, with_missing) == pm.check_rules(pt, with_missing)


# --- test rules (real promtool) ------------------------------------------------------------


@real
def test_passing_unit_test(pt: pm.Promtool, write: Callable[[str, str], Path]) -> None:
    write("rules.yml", LEAK_RULES)
    [result] = pm.test_rules(pt, [write("ok.test.yml", _leak_test(FIRING))])
    assert result.ok
    assert result.failures == ()
    assert "SUCCESS" in result.output


@real
def test_failing_unit_test_is_parsed(pt: pm.Promtool, write: Callable[[str, str], Path]) -> None:
    write("rules.yml", LEAK_RULES)
    test_file = write("fail.test.yml", _leak_test("[]"))
    [result] = pm.test_rules(pt, [test_file])
    assert not result.ok
    assert result.file == str(test_file)
    [failure] = result.failures
    assert failure.group == "leak-group"
    assert (failure.alertname, failure.eval_time) == ("MemoryLeak", "15m")
    assert failure.expr is None
    assert "got:[" in failure.text
    assert failure.text in result.output  # promtool's text kept verbatim


@real
def test_failing_expr_test_is_parsed(pt: pm.Promtool, write: Callable[[str, str], Path]) -> None:
    write("rules.yml", LEAK_RULES)
    test_file = _leak_test(FIRING) + textwrap.indent(
        textwrap.dedent("""\
        promql_expr_test:
          - expr: job:mem:deriv10m
            eval_time: 5m
            exp_samples:
              - labels: 'job:mem:deriv10m{job="api"}'
                value: 3
        """),
        "    ",
    )
    [result] = pm.test_rules(pt, [write("expr.test.yml", test_file)])
    [failure] = result.failures
    assert (failure.expr, failure.eval_time, failure.alertname) == ("job:mem:deriv10m", "5m", None)
    assert 'exp: {__name__="job:mem:deriv10m", job="api"} 3E+00' in failure.text


@real
def test_rule_evaluation_error_is_parsed(
    pt: pm.Promtool, write: Callable[[str, str], Path]
) -> None:
    write("rules.yml", LEAK_RULES.replace("deriv(mem[10m]) > 1", "mem * on() mem > 0"))
    test_file = _leak_test("[]").replace(
        "values: '0+120x30'",
        "values: '0+120x30'\n      - series: 'mem{job=\"db\"}'\n        values: '0+1x30'",
    )
    [result] = pm.test_rules(pt, [write("eval.test.yml", test_file)])
    assert not result.ok
    [failure] = result.failures
    assert (failure.alertname, failure.eval_time) == ("MemoryLeak", "0s")
    assert "many-to-many matching not allowed" in failure.text


@real
def test_rule_files_pattern_matching_nothing_fails(
    pt: pm.Promtool, write: Callable[[str, str], Path]
) -> None:
    test_file = write("nomatch.test.yml", _leak_test("[]", rule_files="[nope.yml]"))
    [result] = pm.test_rules(pt, [test_file])
    assert not result.ok  # promtool itself says SUCCESS and exits 0
    [failure] = result.failures
    assert "no file match pattern" in failure.text
    assert "nope.yml" in failure.text


@real
def test_invalid_test_file_keeps_promtool_text(
    pt: pm.Promtool, write: Callable[[str, str], Path]
) -> None:
    write("rules.yml", LEAK_RULES)
    [result] = pm.test_rules(pt, [write("bad.test.yml", _leak_test("[]") + "bogus: 1\n")])
    assert not result.ok
    [failure] = result.failures
    assert failure.alertname is None
    assert "field bogus not found" in failure.text


@real
def test_test_results_keep_input_order(pt: pm.Promtool, write: Callable[[str, str], Path]) -> None:
    write("rules.yml", LEAK_RULES)
    ok = write("ok.test.yml", _leak_test(FIRING))
    fail = write("fail.test.yml", _leak_test("[]"))
    results = pm.test_rules(pt, [fail, ok, fail, ok], jobs=2)
    assert [(r.file, r.ok) for r in results] == [
        (str(fail), False),
        (str(ok), True),
        (str(fail), False),
        (str(ok), True),
    ]


# --- parsing without promtool --------------------------------------------------------------


def test_parse_output_without_per_file_header() -> None:
    """promtool >= 2.55 prints no `Unit Testing:` line."""
    output = (
        "  FAILED:\n"
        "    alertname: A, time: 1h, \n        exp:[], \n        got:[]\n\n"
        "    name: g2,\n    alertname: B, time: 16m59s, \n        exp:[], \n        got:[]\n\n\n"
    )
    result = pm.parse_test_output("t.yml", 1, output)
    assert [(f.group, f.alertname, f.eval_time) for f in result.failures] == [
        (None, "A", "1h"),
        ("g2", "B", "16m59s"),
    ]


def test_parse_output_unknown_failure_keeps_raw_text() -> None:
    result = pm.parse_test_output("t.yml", 1, "something new went wrong\n  details\n")
    assert not result.ok
    [failure] = result.failures
    assert failure.text == "something new went wrong\n  details"
    assert (failure.group, failure.alertname, failure.expr) == (None, None, None)


def test_parse_output_failure_exit_without_output() -> None:
    [failure] = pm.parse_test_output("t.yml", 2, "").failures
    assert "exited 2" in failure.text


def test_parse_expr_unquotes_go_string() -> None:
    output = '  FAILED:\n    expr: "up{job=\\"a\\"}", time: 5m, err: boom\n'
    [failure] = pm.parse_test_output("t.yml", 1, output).failures
    assert failure.expr == 'up{job="a"}'


# --- finding promtool: error paths ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("echo 'boom: no such flag' >&2\nexit 1", "exited 1: boom: no such flag"),
        ("echo 'hello world'", "does not look like promtool: `--version` printed 'hello world'"),
        ("echo 'prometheus, version 2.42.0 (branch: x)'", "does not look like promtool"),
    ],
)
def test_broken_promtool_is_unusable(tmp_path: Path, body: str, expected: str) -> None:
    fake = _fake(tmp_path / "promtool", body)
    with pytest.raises(PromtoolUnusable) as info:
        pm.find_promtool(str(fake))
    assert expected in str(info.value)
    assert str(fake) in str(info.value)
    assert "make bootstrap" in str(info.value)
    assert info.value.exit_code == ExitCode.PROMTOOL


def test_missing_path_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(PromtoolUnusable, match=r"nope does not exist.*make bootstrap"):
        pm.find_promtool(str(tmp_path / "nope"))


def test_non_executable_file_is_unusable(tmp_path: Path) -> None:
    plain = tmp_path / "promtool"
    plain.write_text("#!/bin/sh\necho promtool, version 2.42.0\n")
    with pytest.raises(PromtoolUnusable, match="is not executable"):
        pm.find_promtool(str(plain))


def test_directory_is_unusable(tmp_path: Path) -> None:
    with pytest.raises(PromtoolUnusable, match="is not a file"):
        pm.find_promtool(str(tmp_path))


def test_unrunnable_file_is_unusable(tmp_path: Path) -> None:
    """Executable but not a program: the OSError becomes PromtoolUnusable."""
    junk = tmp_path / "promtool"
    junk.write_bytes(b"\x00\x01 not an executable format")
    junk.chmod(0o755)
    with pytest.raises(PromtoolUnusable, match="cannot run"):
        pm.find_promtool(str(junk))


def test_hanging_promtool_times_out(tmp_path: Path) -> None:
    fake = _fake(tmp_path / "promtool", "exec sleep 30")
    started = time.monotonic()
    with pytest.raises(PromtoolUnusable, match=r"timed out after 0\.3s running `.*--version`"):
        pm.find_promtool(str(fake), timeout=0.3)
    assert time.monotonic() - started < 10  # the child was killed, not waited for


def test_hanging_check_times_out(tmp_path: Path, write: Callable[[str, str], Path]) -> None:
    fake = _fake(
        tmp_path / "bin" / "promtool",
        'if [ "$1" = --version ]; then echo "promtool, version 2.42.0"; exit 0; fi\nexec sleep 30',
    )
    pt = pm.find_promtool(str(fake))
    with pytest.raises(PromtoolUnusable, match="timed out after 0.3s running"):
        pm.check_rules(pt, [write("rules.yml", LEAK_RULES)], timeout=0.3)
    with pytest.raises(PromtoolUnusable, match="timed out after 0.3s running"):
        pm.test_rules(pt, [write("x.test.yml", _leak_test("[]"))], timeout=0.3)


def test_results_are_ordered_even_when_a_later_file_finishes_first(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    fake = _fake(
        tmp_path / "bin" / "promtool",
        textwrap.dedent("""\
        if [ "$1" = --version ]; then echo "promtool, version 2.42.0"; exit 0; fi
        case "$4" in *slow*) sleep 0.5 ;; esac
        echo "Checking $4"
        echo "  SUCCESS: $(wc -l < "$4") rules found"
        """),
    )
    pt = pm.find_promtool(str(fake))
    slow, fast = write("slow.yml", "1\n"), write("fast.yml", "1\n2\n")
    results = pm.check_rules(pt, [slow, fast])
    assert [(r.file, r.rules) for r in results] == [(str(slow), 1), (str(fast), 2)]


# --- finding promtool: search order --------------------------------------------------------


@pytest.fixture
def four_promtools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Working fakes for each search step, each reporting a different version."""
    fakes = {
        "explicit": _fake_version(tmp_path / "explicit" / "promtool", "2.42.0"),
        "env": _fake_version(tmp_path / "env" / "promtool", "2.53.1"),
        "path": _fake_version(tmp_path / "path" / "promtool", "3.0.0"),
        "tools": _fake_version(tmp_path / "tools" / "promtool", "3.4.2"),
    }
    monkeypatch.setenv("PROMTOOL", str(fakes["env"]))
    monkeypatch.setenv("PATH", str(fakes["path"].parent))
    monkeypatch.setattr(pm, "TOOLS_PROMTOOL", fakes["tools"])
    return fakes


def test_explicit_beats_everything(four_promtools: dict[str, Path]) -> None:
    assert pm.find_promtool(str(four_promtools["explicit"])).version == (2, 42, 0)


def test_env_beats_path(four_promtools: dict[str, Path]) -> None:
    found = pm.find_promtool()
    assert found.version == (2, 53, 1)
    assert found.path == str(four_promtools["env"])


def test_path_beats_tools_folder(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMTOOL")
    assert pm.find_promtool().version == (3, 0, 0)


def test_tools_folder_is_last(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PROMTOOL")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert pm.find_promtool().version == (3, 4, 2)


def test_empty_env_counts_as_unset(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMTOOL", "")
    assert pm.find_promtool().version == (3, 0, 0)


def test_bare_explicit_name_is_looked_up_on_path(four_promtools: dict[str, Path]) -> None:
    assert pm.find_promtool("promtool").version == (3, 0, 0)


def test_broken_env_is_an_error_not_a_fallback(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROMTOOL", str(tmp_path / "gone" / "promtool"))
    with pytest.raises(PromtoolUnusable, match=r"PROMTOOL=.*gone/promtool is unusable"):
        pm.find_promtool()


def test_broken_path_promtool_falls_back_to_tools_folder(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMTOOL")
    _fake(four_promtools["path"], "exit 1")
    assert pm.find_promtool().version == (3, 4, 2)


def test_nothing_found_says_what_was_tried(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PROMTOOL")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    missing = tmp_path / "no-tools" / "promtool"
    monkeypatch.setattr(pm, "TOOLS_PROMTOOL", missing)
    with pytest.raises(PromtoolUnusable) as info:
        pm.find_promtool()
    message = str(info.value)
    for part in ("PROMTOOL is not set", "no `promtool` on PATH", str(missing), "make bootstrap"):
        assert part in message


# --- promtool verified, not trusted --------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2.4.3", "is promtool 2.4.3, too old: rulegen needs promtool 2.42.0 or newer"),
        ("2.41.9", "is promtool 2.41.9, too old: rulegen needs promtool 2.42.0 or newer"),
        (
            "unknown",
            "has an unreadable version: `--version` printed "
            "'promtool, version unknown (branch: fake)' (rulegen needs promtool 2.42.0 or newer)",
        ),
    ],
)
def test_too_old_or_unreadable_version_is_unusable(
    tmp_path: Path, version: str, expected: str
) -> None:
    fake = _fake_version(tmp_path / "promtool", version)
    with pytest.raises(PromtoolUnusable) as info:
        pm.find_promtool(str(fake))
    assert str(info.value) == (
        f"promtool path {str(fake)!r} is unusable: {fake} {expected}. {pm.FIX_HINT}"
    )
    assert info.value.exit_code == ExitCode.PROMTOOL


@pytest.mark.parametrize("version", ["2.42.0", "3.0.0"])
def test_supported_versions_are_accepted(tmp_path: Path, version: str) -> None:
    fake = _fake_version(tmp_path / "promtool", version)
    assert pm.find_promtool(str(fake)).version == pm.parse_version(f"promtool, version {version}")


def test_too_old_promtool_on_path_falls_back_to_tools_folder(
    four_promtools: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMTOOL")
    _fake_version(four_promtools["path"], "2.4.3")
    assert pm.find_promtool().version == (3, 4, 2)


def test_killed_version_probe_names_the_signal(tmp_path: Path) -> None:
    fake = _fake(tmp_path / "promtool", "kill -SEGV $$")
    with pytest.raises(PromtoolUnusable, match=r"`.*promtool --version` was killed by SIGSEGV"):
        pm.find_promtool(str(fake))


# A fake promtool 2.42.0 that answers like the real one: `check_file` and `test_file` print
# promtool's report on one file. A test replaces one of them (a shell function defined later
# wins) to break exactly one thing, so the honest fake passing shows what each test breaks.
HONEST = r"""
check_file() {
    echo "Checking $1"
    echo "  SUCCESS: $(grep -cE '^ *- (alert|record):' "$1") rules found"
    echo
}
test_file() { echo "Unit Testing:  $1"; echo "  SUCCESS"; echo; }
"""
DISPATCH = r"""
if [ "$1" = --version ]; then echo "promtool, version 2.42.0 (branch: fake)"; exit 0; fi
cmd=$1
shift 2
if [ "$cmd" = check ]; then shift; for f in "$@"; do check_file "$f"; done; fi
if [ "$cmd" = test ]; then for f in "$@"; do test_file "$f"; done; fi
exit 0
"""


def _fake_promtool(path: Path, override: str = "") -> Path:
    return _fake(path, HONEST + override + DISPATCH)


SILENT = "check_file() { :; }\ntest_file() { :; }"
SEGV = "check_file() { kill -SEGV $$; }\ntest_file() { kill -SEGV $$; }"
PANIC = """check_file() {
    echo "Checking $1"
    echo "panic: runtime error: invalid memory address or nil pointer dereference" >&2
    echo "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a]" >&2
    echo "goroutine 1 [running]:" >&2
    exit 2
}"""
FATAL = 'check_file() { echo "fatal error: runtime: out of memory" >&2; exit 2; }'
EXIT_42 = 'check_file() { echo "Checking $1"; echo "something odd" >&2; exit 42; }'
EXIT_3 = 'check_file() { echo "Checking $1"; echo "  FAILED:"; echo "lint error"; exit 3; }'
MUTE_FAILURE = "check_file() { exit 1; }"
WRONG_COUNT = 'check_file() { echo "Checking $1"; echo "  SUCCESS: 0 rules found"; echo; }'
NO_VERDICT = 'check_file() { echo "Checking $1"; echo; }'
ONLY_FIRST = """check_file() {
    case "$1" in *b.yml) ;; *) echo "Checking $1"; echo "  SUCCESS: 2 rules found"; echo ;; esac
}"""


@pytest.fixture
def two_rule_files(write: Callable[[str, str], Path]) -> list[Path]:
    return [write("a.yml", LEAK_RULES), write("b.yml", LEAK_RULES)]


def test_honest_fake_passes_every_check(tmp_path: Path, two_rule_files: list[Path]) -> None:
    """The baseline of the tests below: only what each of them breaks makes them fail."""
    pt = pm.find_promtool(str(_fake_promtool(tmp_path / "promtool")))
    assert [(r.ok, r.rules) for r in pm.check_rules_batch(pt, two_rule_files)] == [(True, 2)] * 2
    assert [(r.ok, r.rules) for r in pm.check_rules(pt, two_rule_files)] == [(True, 2)] * 2
    assert [r.ok for r in pm.test_rules(pt, two_rule_files, jobs=2)] == [True, True]


@pytest.mark.parametrize(
    ("override", "how"),
    [
        (SEGV, "was killed by SIGSEGV: (no output)"),
        (
            PANIC,
            "crashed (exit 2, Go runtime panic): panic: runtime error: invalid memory "
            "address or nil pointer dereference",
        ),
        (FATAL, "crashed (exit 2, Go runtime panic): fatal error: runtime: out of memory"),
        (EXIT_42, "exited 42, which promtool never does for findings: Checking {file}"),
        (EXIT_3, "exited 3, which promtool never does for findings: Checking {file}"),
        (MUTE_FAILURE, "exited 1 without printing anything: (no output)"),
    ],
    ids=["sigsegv", "go-panic", "go-fatal-error", "exit-42", "exit-3", "exit-1-silent"],
)
def test_crashed_check_is_promtool_broken_not_a_finding(
    tmp_path: Path, two_rule_files: list[Path], override: str, how: str
) -> None:
    fake = _fake_promtool(tmp_path / "promtool", override)
    pt = pm.find_promtool(str(fake))
    first = two_rule_files[0]
    single = f"{fake} check rules --lint=duplicate-rules {first}"
    with pytest.raises(PromtoolUnusable) as info:
        pm.check_rules(pt, [first])
    assert str(info.value) == (
        f"promtool broken: `{single}` {how.format(file=first)}. {pm.FIX_HINT}"
    )
    assert info.value.exit_code == ExitCode.PROMTOOL
    with pytest.raises(PromtoolUnusable, match="^promtool broken: "):
        pm.check_rules_batch(pt, two_rule_files)


def test_crashed_test_run_is_promtool_broken(tmp_path: Path, two_rule_files: list[Path]) -> None:
    fake = _fake_promtool(tmp_path / "promtool", SEGV)
    pt = pm.find_promtool(str(fake))
    with pytest.raises(PromtoolUnusable) as info:
        pm.test_rules(pt, two_rule_files[:1])
    assert str(info.value) == (
        f"promtool broken: `{fake} test rules {two_rule_files[0]}` was killed by SIGSEGV: "
        f"(no output). {pm.FIX_HINT}"
    )


def test_silent_pass_is_promtool_broken(tmp_path: Path, two_rule_files: list[Path]) -> None:
    fake = _fake_promtool(tmp_path / "promtool", SILENT)
    pt = pm.find_promtool(str(fake))
    a, b = two_rule_files
    with pytest.raises(PromtoolUnusable) as info:
        pm.check_rules_batch(pt, two_rule_files)
    assert str(info.value) == (
        f"promtool broken: `{fake} check rules --lint=duplicate-rules {a} {b}` exited 0 but "
        f"did not report what it was given: no `Checking {a}` line; no `Checking {b}` line. "
        f"{pm.FIX_HINT}"
    )
    with pytest.raises(PromtoolUnusable, match=f"no `Checking {a}` line"):
        pm.check_rules(pt, [a])
    with pytest.raises(PromtoolUnusable) as info:
        pm.test_rules(pt, [a])
    assert str(info.value) == (
        f"promtool broken: `{fake} test rules {a}` exited 0 but did not report what it was "
        f"given: {a}: expected one `SUCCESS` line, promtool printed nothing. {pm.FIX_HINT}"
    )


def test_batch_reporting_one_of_two_files_is_promtool_broken(
    tmp_path: Path, two_rule_files: list[Path]
) -> None:
    fake = _fake_promtool(tmp_path / "promtool", ONLY_FIRST)
    pt = pm.find_promtool(str(fake))
    a, b = two_rule_files
    with pytest.raises(PromtoolUnusable) as info:
        pm.check_rules_batch(pt, two_rule_files)
    assert str(info.value) == (
        f"promtool broken: `{fake} check rules --lint=duplicate-rules {a} {b}` exited 0 but "
        f"did not report what it was given: no `Checking {b}` line. {pm.FIX_HINT}"
    )
    assert pm.check_rules(pt, [a])[0].rules == 2  # the file it does report passes


def test_batch_message_names_a_long_file_list_briefly(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    fake = _fake_promtool(tmp_path / "promtool", SILENT)
    files = [write(f"r{i}.yml", LEAK_RULES) for i in range(5)]
    with pytest.raises(PromtoolUnusable) as info:
        pm.check_rules_batch(pm.find_promtool(str(fake)), files)
    message = str(info.value)
    assert f"`{fake} check rules --lint=duplicate-rules {files[0]} ... (4 more files)`" in message
    assert f"no `Checking {files[2]}` line; and 2 more." in message
    assert str(files[4]) not in message


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per-file"])
def test_wrong_rule_count_is_promtool_broken(
    tmp_path: Path, two_rule_files: list[Path], batch: bool
) -> None:
    pt = pm.find_promtool(str(_fake_promtool(tmp_path / "promtool", WRONG_COUNT)))
    a, b = two_rule_files
    with pytest.raises(PromtoolUnusable) as info:
        (pm.check_rules_batch if batch else pm.check_rules)(pt, two_rule_files)
    gaps = f"{a}: promtool found 0 rules, the file has 2"
    if batch:
        gaps += f"; {b}: promtool found 0 rules, the file has 2"
    assert str(info.value).endswith(
        f"exited 0 but did not report what it was given: {gaps}. {pm.FIX_HINT}"
    )


def test_check_without_verdict_is_promtool_broken(
    tmp_path: Path, two_rule_files: list[Path]
) -> None:
    pt = pm.find_promtool(str(_fake_promtool(tmp_path / "promtool", NO_VERDICT)))
    with pytest.raises(PromtoolUnusable, match=r"neither `SUCCESS: N rules found` nor `FAILED:`"):
        pm.check_rules(pt, two_rule_files[:1])


@pytest.mark.parametrize(
    ("override", "said"),
    [
        (
            'test_file() { echo "Unit Testing:  $1"; echo; }',
            "expected one `SUCCESS` line, promtool printed nothing",
        ),
        (
            'test_file() { echo "  SUCCESS"; echo "  FAILED:"; }',
            "expected one `SUCCESS` line, promtool printed SUCCESS, FAILED:",
        ),
        (
            'test_file() { echo "Unit Testing:  other.yml"; echo "  SUCCESS"; }',
            "it reported testing other.yml",
        ),
    ],
    ids=["no-verdict", "two-verdicts", "other-file"],
)
def test_test_run_that_did_not_report_its_file_is_promtool_broken(
    tmp_path: Path, two_rule_files: list[Path], override: str, said: str
) -> None:
    pt = pm.find_promtool(str(_fake_promtool(tmp_path / "promtool", override)))
    with pytest.raises(PromtoolUnusable) as info:
        pm.test_rules(pt, two_rule_files[:1])
    assert str(info.value).endswith(f": {two_rule_files[0]}: {said}. {pm.FIX_HINT}")


def test_parallel_test_run_missing_one_report_is_promtool_broken(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    """One silent file among several run side by side still fails the whole run."""
    override = 'test_file() { case "$1" in *t3.yml) ;; *) echo "  SUCCESS" ;; esac; }'
    pt = pm.find_promtool(str(_fake_promtool(tmp_path / "promtool", override)))
    files = [write(f"t{i}.yml", LEAK_RULES) for i in range(6)]
    assert [r.ok for r in pm.test_rules(pt, files[:3], jobs=2)] == [True] * 3  # 2.55+ style
    with pytest.raises(PromtoolUnusable, match=f"{files[3]}: expected one `SUCCESS` line"):
        pm.test_rules(pt, files, jobs=3)


def test_real_failures_stay_findings(tmp_path: Path, two_rule_files: list[Path]) -> None:
    """Exit 1 with promtool's report is the rules' fault, as before: a value, not an error."""
    override = (
        'check_file() { echo "Checking $1"; echo "  FAILED:" >&2; echo "bad rule" >&2; '
        "exit 1; }\n"
        'test_file() { echo "Unit Testing:  $1"; echo "  FAILED:" >&2; '
        'echo "    alertname: MemoryLeak, time: 15m, " >&2; exit 1; }'
    )
    pt = pm.find_promtool(str(_fake_promtool(tmp_path / "promtool", override)))
    [checked] = pm.check_rules(pt, two_rule_files[:1])
    assert (checked.ok, checked.errors) == (False, ("bad rule",))
    [tested] = pm.test_rules(pt, two_rule_files[:1])
    assert not tested.ok
    assert [f.alertname for f in tested.failures] == ["MemoryLeak"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (LEAK_RULES, 2),
        ("", 0),
        ("groups: []\n", 0),
        ("groups:\n  - name: a\n  - name: b\n    rules: [{record: x, expr: '1'}]\n", 1),
        ("groups: [\n", None),
        ("- 1\n", None),
        ("groups:\n  - name: a\n    rules: 3\n", None),
    ],
    ids=["leak", "empty", "no-groups", "two-groups", "bad-yaml", "not-a-map", "rules-not-a-list"],
)
def test_count_rules(write: Callable[[str, str], Path], text: str, expected: int | None) -> None:
    assert pm.count_rules(write("r.yml", text)) == expected


# --- through the CLI -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory with an inventory of two services and its generated rules_out/."""
    cwd = tmp_path_factory.mktemp("generated")
    (cwd / "inventory.yaml").write_text(example_slice("checkout", "recommendation"))
    assert _cli(cwd, None, "generate", "inventory.yaml").returncode == 0
    return cwd


def _cli(cwd: Path, fake: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, with PROMTOOL=fake."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if fake is not None:
        env["PROMTOOL"] = str(fake)
    return subprocess.run(
        [sys.executable, "-m", "rulegen", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


RULES = "rules_out/rules/go/checkout.yml"


@pytest.mark.parametrize("command", ["test", "check"])
def test_cli_refuses_a_too_old_promtool_that_passes_everything(
    generated: Path, tmp_path: Path, command: str
) -> None:
    fake = _fake(tmp_path / "promtool", 'echo "promtool, version 2.4.3 (branch: fake)"; exit 0')
    # (click hands PROMTOOL to --promtool, hence "promtool path")
    r = _cli(generated, fake, command, "inventory.yaml")
    assert (r.returncode, r.stdout) == (ExitCode.PROMTOOL, "")
    assert r.stderr == (
        f"rulegen: promtool path {str(fake)!r} is unusable: {fake} is promtool 2.4.3, too old: "
        f"rulegen needs promtool 2.42.0 or newer. {pm.FIX_HINT}\n"
    )


@pytest.mark.parametrize(
    ("override", "what"),
    [
        (SILENT, "exited 0 but did not report what it was given: no `Checking {rules}` line"),
        (SEGV, "was killed by SIGSEGV: (no output)"),
        (PANIC, "crashed (exit 2, Go runtime panic): panic: runtime error"),
        (
            WRONG_COUNT,
            "exited 0 but did not report what it was given: {rules}: promtool "
            "found 0 rules, the file has 16",
        ),
    ],
    ids=["silent", "sigsegv", "go-panic", "wrong-count"],
)
@pytest.mark.parametrize("command", ["test", "check"])
def test_cli_broken_check_run_exits_3(
    generated: Path, tmp_path: Path, command: str, override: str, what: str
) -> None:
    fake = _fake_promtool(tmp_path / "promtool", override)
    r = _cli(generated, fake, command, "inventory.yaml")
    assert r.returncode == ExitCode.PROMTOOL, r.stderr
    assert r.stdout == ""
    [line] = r.stderr.splitlines()
    assert line.startswith(f"rulegen: promtool broken: `{fake} check rules --lint=duplicate-rules")
    assert what.format(rules=RULES) in line
    assert line.endswith(pm.FIX_HINT)


@pytest.mark.parametrize("command", ["test", "check"])
def test_cli_test_run_reporting_one_of_two_files_exits_3(
    generated: Path, tmp_path: Path, command: str
) -> None:
    """Rules are checked in one batch, then the tests run side by side; the test of one
    service goes unreported. rulegen runs each test file in slices (rulegen/slices.py), each
    a file of the same name in a temporary folder: the message names the test file."""
    [c] = [c for c in read_index(generated / "rules_out") or []
           if c.services == ("python/recommendation",)]
    test = f"rules_out/tests/{c.tests}"
    name = c.tests.rsplit("/", 1)[-1]
    fake = _fake_promtool(
        tmp_path / "promtool",
        f'test_file() {{ case "$1" in */{name}) ;; *) echo "  SUCCESS" ;; esac; }}',
    )
    r = _cli(generated, fake, command, "inventory.yaml")
    assert (r.returncode, r.stdout) == (ExitCode.PROMTOOL, "")
    *before, last = r.stderr.splitlines()
    sliced = f"{test} (a slice of it: docs/classes.md)"
    assert last == (
        f"rulegen: promtool broken: `{fake} test rules {sliced}` exited 0 but did not report "
        f"what it was given: {sliced}: expected one `SUCCESS` line, promtool printed nothing. "
        f"{pm.FIX_HINT}"
    )
    # Services whose tests finished first are reported as they arrive (progress on stderr).
    assert all(re.fullmatch(r"[\w-]+: \d+ cases ok", line) for line in before), before


def test_cli_honest_fake_passes(generated: Path, tmp_path: Path) -> None:
    """The fakes above differ from this one only in what they break."""
    r = _cli(generated, _fake_promtool(tmp_path / "promtool"), "test", "inventory.yaml")
    assert r.returncode == ExitCode.OK, r.stderr
    assert r.stdout.endswith("promtool 2.42.0: passed\n")


@real
def test_real_promtool_passes_the_checks(pt: pm.Promtool, tmp_path: Path) -> None:
    """The real promtool reports every file and the right counts: on all generated rule files
    in one batch and one by one, on a generated test file, and through `rulegen test`."""
    shutil.copy(ROOT / "examples" / "otel-demo" / "inventory.yaml", tmp_path / "inventory.yaml")
    assert _cli(tmp_path, None, "generate", "inventory.yaml").returncode == 0
    rules = sorted(str(p) for p in tmp_path.glob("rules_out/rules/*/*.yml"))
    assert len(rules) == 14 + 4  # a file per service, and per limit (rules/limits/)
    batch = pm.check_rules_batch(pt, rules)
    assert batch == pm.check_rules(pt, rules)
    assert [(r.ok, r.rules) for r in batch] == [(True, pm.count_rules(f)) for f in rules]
    assert all(r.rules for r in batch)
    [c] = [c for c in read_index(tmp_path / "rules_out") or []
           if c.services == ("python/recommendation",)]
    [tested] = pm.test_rules(pt, [tmp_path / "rules_out/tests" / c.tests])
    assert tested.ok
    (tmp_path / "inventory.yaml").write_text(example_slice("recommendation"))
    assert _cli(tmp_path, None, "generate", "inventory.yaml").returncode == 0
    r = _cli(tmp_path, Path(pt.path), "test", "inventory.yaml")
    assert r.returncode == ExitCode.OK, r.stderr
    assert r.stdout.endswith(f"promtool {'.'.join(map(str, pt.version))}: passed\n")


def test_promtool_runs_with_less_garbage_collection_unless_the_user_set_gogc(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """GOGC=400 for promtool's runs (bench/README.md, "Proof CPU"); a GOGC of the user's wins."""
    show = [sys.executable, "-c", "import os; print(os.environ.get('GOGC'))"]
    monkeypatch.delenv("GOGC", raising=False)
    assert pm._run(show, 30).stdout.strip() == "400"
    monkeypatch.setenv("GOGC", "150")
    assert pm._run(show, 30).stdout.strip() == "150"
