"""Find and run promtool. This is the only module in rulegen that starts promtool processes.

Nothing here prints: every function returns values, or raises `PromtoolUnusable` when promtool
itself cannot be used (missing, broken, timed out). Findings about rules and tests are values
(`CheckResult`, `TestResult`), not exceptions.

`check_rules` and `test_rules` run one promtool process per file, in parallel: promtool 2.55+
prints no per-file header in `test rules`, so that is the only way to attribute its output on
every version. `check_rules_batch` runs one process for all files (faster: start-up dominates)
and attributes by the `Checking <file>` headers, which `check rules` prints on every version.

promtool is verified, not trusted: a "pass" is only taken from a run that exited 0 *and*
reported every file it was given (and, for `check rules`, the number of rules each file has).
A run that ended in a way promtool never ends on findings (a signal, a Go panic, an unknown exit
code) or passed without saying so is `PromtoolUnusable` (exit 3), never a finding about the rules.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from rulegen.errors import PromtoolUnusable
from rulegen.rulefile import count_rules

# <repo root>/.tools/bin/promtool, where `make bootstrap` (scripts/get-promtool.sh) puts it.
TOOLS_PROMTOOL = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "promtool"
FIX_HINT = "Run `make bootstrap` or set PROMTOOL=/path/to/promtool."

# The oldest promtool rulegen supports (Debian 12's, which `make bootstrap` unpacks): the
# generated tests and the output parsing here are checked against it. 3.x is supported too.
MIN_VERSION = (2, 42, 0)

# promtool's exit code for findings: failed checks or tests, and usage errors such as a missing
# file. (3 is `check rules --lint-fatal`'s, which rulegen never passes.) Any other end of a run,
# a signal, Go's exit 2 after a panic or `fatal error:`, an unknown code, is promtool breaking.
_FINDINGS_EXIT = 1
_GO_CRASH_RE = re.compile(r"^(panic: |fatal error: |\[signal SIG)")

_VERSION_RE = re.compile(r"^promtool, version v?(\d+)\.(\d+)\.(\d+)")
_RULES_FOUND_RE = re.compile(r"^\s*SUCCESS: (\d+) rules found")
_NO_MATCH = "WARNING: no file match pattern"
_CHECKING = "Checking "
_UNIT_TESTING = "Unit Testing:"
_TEST_VERDICTS = ("  SUCCESS", "  FAILED:")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Promtool:
    """A promtool binary that answered `--version`."""

    path: str
    version: tuple[int, int, int]
    version_text: str  # first line of `promtool --version`


@dataclass(frozen=True)
class CompletedRun:
    code: int
    stdout: str
    stderr: str  # empty when stderr was merged into stdout


@dataclass(frozen=True)
class CheckResult:
    """`promtool check rules` on one file.

    `ok` is promtool's verdict: the file parses and validates. Lint findings (duplicate rules)
    do not make it false; they are in `lint`, and the caller decides whether they matter.
    `rules` is None when promtool did not report a count (it prints none on lint findings).
    """

    file: str
    ok: bool
    rules: int | None
    errors: tuple[str, ...]
    lint: tuple[str, ...]


@dataclass(frozen=True)
class TestFailure:
    """One failure block of `promtool test rules`.

    For an evaluation error (`rule: X, time: T, err: ...`) `alertname` is the rule's name.
    `eval_time` is promtool's text: `15m` for test cases, but Go's `15m0s` for evaluation errors.
    `group` is only known for alert failures: promtool prints the test group name nowhere else.
    `text` is promtool's block verbatim.
    """

    __test__ = False  # not a pytest test class

    group: str | None
    alertname: str | None
    expr: str | None
    eval_time: str | None
    text: str


@dataclass(frozen=True)
class TestResult:
    """`promtool test rules` on one test file. `output` is promtool's stdout+stderr, verbatim."""

    __test__ = False

    file: str
    ok: bool
    failures: tuple[TestFailure, ...]
    output: str


# --- running -------------------------------------------------------------------------------


# promtool is a short-lived Go process: with the Go runtime's default GOGC=100 it collects its
# garbage about 10% of its CPU time in `test rules`; 400 saves most of that for some 50 MB more
# memory per process (bench/README.md, "Proof classes at fleet scale"). A GOGC the user set is
# kept.
_GOGC = "400"


def _run(args: Sequence[str], timeout: float, *, merge_output: bool = False) -> CompletedRun:
    """Run promtool. With merge_output, stderr goes into stdout in the order it was written."""
    try:
        proc = subprocess.run(
            list(args),
            env={"GOGC": _GOGC, **os.environ},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            timeout=timeout,
            check=False,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        raise PromtoolUnusable(
            f"promtool timed out after {timeout:g}s running `{_describe(args)}`"
        ) from None
    except OSError as exc:
        raise PromtoolUnusable(f"cannot run `{_describe(args)}`: {exc.strerror or exc}") from exc
    return CompletedRun(proc.returncode, proc.stdout or "", proc.stderr or "")


def _run_promtool(args: Sequence[str], timeout: float) -> CompletedRun:
    """`_run` with merged output, for a `check rules` or `test rules` run whose exit code says
    whose fault a failure is: 0 and 1 are promtool's verdicts on the files; any other end
    (a signal, a Go crash, an unknown code, or exit 1 without a word) is promtool breaking, and
    blaming the rules for it would send the user hunting for a mistake that is not there."""
    run = _run(args, timeout, merge_output=True)
    if run.code == 0 or (run.code == _FINDINGS_EXIT and run.stdout.strip()):
        return run
    raise PromtoolUnusable(
        f"promtool broken: `{_describe(args)}` {_how_it_ended(run)}: "
        f"{_crash_line(run) or '(no output)'}. {FIX_HINT}"
    )


def _how_it_ended(run: CompletedRun) -> str:
    """'was killed by SIGSEGV', 'crashed (exit 2)', ...: how a run ended, for a message."""
    if run.code < 0:  # subprocess: -N is "killed by signal N"
        try:
            name = signal.Signals(-run.code).name
        except ValueError:
            name = f"signal {-run.code}"
        return f"was killed by {name}"
    if run.code == 2 and _crash_line(run, go_only=True):
        return "crashed (exit 2, Go runtime panic)"
    if run.code == _FINDINGS_EXIT:
        return f"exited {run.code} without printing anything"
    return f"exited {run.code}, which promtool never does for findings"


def _crash_line(run: CompletedRun, *, go_only: bool = False) -> str:
    """The line that says why: Go's `panic:` / `fatal error:` / `[signal SIG...` line if there
    is one (it follows whatever promtool printed before it crashed), else the first line of
    stderr (of the merged output when stderr was merged)."""
    text = run.stderr or run.stdout
    crash = next((ln.strip() for ln in text.splitlines() if _GO_CRASH_RE.match(ln)), "")
    return crash if crash or go_only else _first_line(text)


def _describe(args: Sequence[str]) -> str:
    """The command line for a message; a batch's list of files is cut after the first one."""
    if len(args) <= 6:
        return shlex.join(args)
    return f"{shlex.join(args[:5])} ... ({len(args) - 5} more files)"


def _unreported(args: Sequence[str], code: int, gaps: Sequence[str]) -> PromtoolUnusable:
    """PromtoolUnusable for a run that did not report everything it was given (`gaps`)."""
    shown = "; ".join(gaps[:3]) + (f"; and {len(gaps) - 3} more" if len(gaps) > 3 else "")
    return PromtoolUnusable(
        f"promtool broken: `{_describe(args)}` exited {code} but did not report what it was "
        f"given: {shown}. {FIX_HINT}"
    )


def _parallel(fn: Callable[[T], R], items: Sequence[T], jobs: int | None) -> list[R]:
    """fn over items on worker threads; results in input order. The first exception wins and
    cancels work not yet started."""
    if not items:
        return []
    workers = max(1, min(jobs or os.cpu_count() or 1, len(items)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="promtool")
    try:
        return list(pool.map(fn, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- finding -------------------------------------------------------------------------------


def find_promtool(explicit: str | None = None, *, timeout: float = 10.0) -> Promtool:
    """Find a working promtool: `explicit`, else $PROMTOOL, else `promtool` on PATH, else
    <repo>/.tools/bin/promtool.

    An explicit path or $PROMTOOL is used as given: if it is broken, that is an error, never a
    reason to pick another binary. PATH and the tools folder are searched in order and the
    first that works is used.
    """
    if explicit:
        return _probe_named(explicit, f"promtool path {explicit!r}", timeout)
    env = os.environ.get("PROMTOOL", "")
    if env:
        return _probe_named(env, f"PROMTOOL={env}", timeout)
    tried: list[str] = []
    on_path = shutil.which("promtool")
    if on_path is None:
        tried.append("no `promtool` on PATH")
    for label, candidate in (("PATH", on_path), ("tools folder", str(TOOLS_PROMTOOL))):
        if candidate is None:
            continue
        try:
            return _probe(candidate, timeout)
        except PromtoolUnusable as exc:
            tried.append(f"{label}: {exc}")
    raise PromtoolUnusable(
        "no usable promtool (PROMTOOL is not set; " + "; ".join(tried) + "). " + FIX_HINT
    )


def _probe_named(name: str, label: str, timeout: float) -> Promtool:
    """Probe a user-given path; a bare name (no slash) is looked up on PATH."""
    path = name if os.sep in name else (shutil.which(name) or name)
    try:
        return _probe(path, timeout)
    except PromtoolUnusable as exc:
        raise PromtoolUnusable(f"{label} is unusable: {exc}. {FIX_HINT}") from None


def _probe(path: str, timeout: float) -> Promtool:
    """Promtool for path, or PromtoolUnusable saying why not (without the fix hint)."""
    if not os.path.exists(path):
        raise PromtoolUnusable(f"{path} does not exist")
    if not os.path.isfile(path):
        raise PromtoolUnusable(f"{path} is not a file")
    if not os.access(path, os.X_OK):
        raise PromtoolUnusable(f"{path} is not executable")
    run = _run([path, "--version"], timeout)
    first = _first_line(run.stdout) or _first_line(run.stderr)
    if run.code != 0:
        ended = f"exited {run.code}" if run.code > 0 else _how_it_ended(run)
        raise PromtoolUnusable(f"`{path} --version` {ended}: {first or '(no output)'}")
    version = parse_version(first)
    need = f"rulegen needs promtool {_dotted(MIN_VERSION)} or newer"
    if version is None:
        what = (
            "has an unreadable version"
            if first.startswith("promtool, version")
            else "does not look like promtool"
        )
        raise PromtoolUnusable(f"{path} {what}: `--version` printed {first!r} ({need})")
    if version < MIN_VERSION:
        raise PromtoolUnusable(f"{path} is promtool {_dotted(version)}, too old: {need}")
    return Promtool(os.path.abspath(path), version, first)


def _dotted(version: tuple[int, int, int]) -> str:
    return ".".join(map(str, version))


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def parse_version(line: str) -> tuple[int, int, int] | None:
    """(2, 42, 0) from 'promtool, version 2.42.0+ds (branch: ...'; None if it is not that."""
    m = _VERSION_RE.match(line.strip())
    if m is None:
        return None
    return int(m[1]), int(m[2]), int(m[3])


# --- check rules ---------------------------------------------------------------------------
#
# stdout and stderr are merged (each promtool print is one write, so the order is exact):
#   Checking <file>
#     SUCCESS: N rules found          | or:   FAILED:
#                                     |       <one error per line>            (exit 1)
#                                     |       lint error N duplicate rule(s) found.  (exit 0)
#                                     |       Metric: ... (lint details)
# Usage errors (a missing file) print only `promtool: error: ...`, exit 1, and check nothing.


def check_rules(
    pt: Promtool,
    files: Sequence[str | Path],
    *,
    lint: str = "duplicate-rules",
    timeout: float = 120.0,
) -> list[CheckResult]:
    """`promtool check rules --lint=<lint>` on each file: one process per file, one per CPU at
    a time. One result per file, in input order."""

    def one(file: str) -> CheckResult:
        args = [pt.path, "check", "rules", f"--lint={lint}", file]
        run = _run_promtool(args, timeout)
        _verified_split(args, [file], run)
        return parse_check_output(file, run.code, run.stdout)

    return _parallel(one, [str(f) for f in files], None)


def check_rules_batch(
    pt: Promtool,
    files: Sequence[str | Path],
    *,
    lint: str = "duplicate-rules",
    timeout: float = 120.0,
) -> list[CheckResult]:
    """Same results as `check_rules`, from a single promtool process (about 4x faster on 50
    files: process start-up dominates). Output is attributed by its `Checking <file>` headers;
    if that fails (e.g. a missing file aborts the whole run) it falls back to `check_rules`."""
    names = [str(f) for f in files]
    if not names:
        return []
    args = [pt.path, "check", "rules", f"--lint={lint}", *names]
    run = _run_promtool(args, timeout)
    split = _verified_split(args, names, run)
    if split is not None:
        preamble, sections = split
        results = [
            _check_result(n, preamble + sec, None) for n, sec in zip(names, sections, strict=True)
        ]
        if (run.code == 0) == all(r.ok for r in results):
            return results
    return check_rules(pt, names, lint=lint, timeout=timeout)


def parse_check_output(file: str, code: int, output: str) -> CheckResult:
    """CheckResult from one file's `check rules` run (stdout and stderr merged)."""
    return _check_result(file, output.splitlines(), code)


def _check_result(file: str, lines: Sequence[str], code: int | None) -> CheckResult:
    """code is promtool's exit code for this file alone, or None in a batch run, where a file
    is ok when it has errors other than lint findings."""
    found = next((m for ln in lines if (m := _RULES_FOUND_RE.match(ln))), None)
    warnings = tuple(ln.strip() for ln in lines if ln.startswith("WARNING:"))
    body = _after_failed(lines)
    split = next((i for i, ln in enumerate(body) if ln.startswith("lint error")), len(body))
    errors, lint = _dedupe(body[:split]), tuple(body[split:])
    ok = not errors if code is None else code == 0
    if not ok and not errors and not lint:  # e.g. `promtool: error: path ... does not exist`
        raw = [ln for ln in lines if not ln.startswith(("Checking ", "WARNING:"))]
        errors = _dedupe(raw) or (f"promtool exited {code} without output",)
    return CheckResult(file, ok, int(found[1]) if found else None, errors, warnings + lint)


def _split_by_header(
    lines: Sequence[str], names: Sequence[str]
) -> tuple[list[str], list[list[str]]] | None:
    """(lines before the first header, lines of each file) if the `Checking <file>` headers
    are exactly `names` in order, else None."""
    preamble: list[str] = []
    sections: list[list[str]] = []
    for line in lines:
        if len(sections) < len(names) and line == f"Checking {names[len(sections)]}":
            sections.append([])
        elif line.startswith("Checking "):
            return None
        else:
            (sections[-1] if sections else preamble).append(line)
    return (preamble, sections) if len(sections) == len(names) else None


def _verified_split(
    args: Sequence[str], names: Sequence[str], run: CompletedRun
) -> tuple[list[str], list[list[str]]] | None:
    """`_split_by_header` of a `check rules` run, once it is known that promtool reported every
    file it was given: its `Checking <file>` header, then `SUCCESS: N rules found` with N the
    rules the file has, or `FAILED:`. None when a failed run has no headers (a usage error such
    as a missing file aborts it before the first file); a passed run without them is broken."""
    lines = run.stdout.splitlines()
    split = _split_by_header(lines, names)
    if split is None:
        if run.code != 0:
            return None
        raise _unreported(args, run.code, _missing_headers(lines, names))
    gaps = [gap for n, sec in zip(names, split[1], strict=True) if (gap := _check_gap(n, sec))]
    if gaps:
        raise _unreported(args, run.code, gaps)
    return split


def _missing_headers(lines: Sequence[str], names: Sequence[str]) -> list[str]:
    """Why the headers of a run do not match `names`, one phrase per file not reported."""
    seen = Counter(ln[len(_CHECKING) :] for ln in lines if ln.startswith(_CHECKING))
    missing = Counter(names) - seen
    if missing:
        return [f"no `{_CHECKING}{name}` line" for name in missing]
    return [f"`{_CHECKING}<file>` lines for other files or in another order than given"]


def _check_gap(name: str, section: Sequence[str]) -> str | None:
    """What is wrong with promtool's report on one file, or None: it must say FAILED or how many
    rules it found, and that number must be the file's (a promtool that loaded nothing or
    something else is caught here)."""
    found = next((m for ln in section if (m := _RULES_FOUND_RE.match(ln))), None)
    if found is None:
        if any(ln.strip() == "FAILED:" for ln in section):
            return None
        return f"{name}: neither `SUCCESS: N rules found` nor `FAILED:`"
    expected = count_rules(name)
    if expected is not None and int(found[1]) != expected:
        return f"{name}: promtool found {found[1]} rules, the file has {expected}"
    return None


def _after_failed(lines: Sequence[str]) -> list[str]:
    """Non-blank lines after `  FAILED:` (none if promtool printed no FAILED)."""
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "FAILED:"), None)
    if start is None:
        return []
    return [ln.rstrip() for ln in lines[start + 1 :] if ln.strip()]


def _dedupe(lines: Sequence[str]) -> tuple[str, ...]:
    """Drop exact repeats (promtool 2.42 prints each YAML error twice), keeping order."""
    return tuple(dict.fromkeys(ln.rstrip() for ln in lines if ln.strip()))


# --- test rules ----------------------------------------------------------------------------


def test_rules(
    pt: Promtool,
    files: Sequence[str | Path],
    *,
    timeout: float = 300.0,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[TestResult]:
    """`promtool test rules` on each test file: one process per file, `jobs` (default: CPU
    count) at a time. One result per file, in input order. `progress(done, total)` is called
    after each file (from worker threads, serialised)."""
    done = [0]
    lock = threading.Lock()

    def one(file: str) -> TestResult:
        args = [pt.path, "test", "rules", file]
        run = _run_promtool(args, timeout)
        if (gap := _test_gap(file, run)) is not None:
            raise _unreported(args, run.code, [gap])
        result = parse_test_output(file, run.code, run.stdout)
        if progress:
            with lock:
                done[0] += 1
                progress(done[0], len(files))
        return result

    return _parallel(one, [str(f) for f in files], jobs)


test_rules.__test__ = False  # type: ignore[attr-defined]  # not a pytest test function

# A failure block starts with one of these, indented by exactly four spaces.
_BLOCK_START_RE = re.compile(r"^ {4}(name|alertname|expr|rule): ")
_GROUP_RE = re.compile(r"^ {4}name: (?P<group>.*),$")
_ALERT_RE = re.compile(r"^ {4}alertname: (?P<alertname>.*), time: (?P<time>[^,\s]+),")
_EXPR_RE = re.compile(r'^ {4}expr: (?P<expr>".*"), time: (?P<time>[^,\s]+),')
_RULE_RE = re.compile(r"^ {4}rule: (?P<rule>.*?), time: (?P<time>[^,\s]+), err: ")
# Lines that frame the failures rather than belong to one.
_FRAME_RE = re.compile(r"^(Unit Testing: .*|  SUCCESS|  FAILED:)$")


def _test_gap(file: str, run: CompletedRun) -> str | None:
    """What is wrong with a one-file `test rules` run's report, or None. promtool prints
    `  SUCCESS` or `  FAILED:` once per file (before 2.55 after a `Unit Testing:  <file>`
    header); a pass must say SUCCESS for this file and nothing else. A failure (exit 1) is not
    held to it: a usage error, e.g. a file that does not exist, prints only `promtool: error:`."""
    lines = run.stdout.splitlines()
    named = [ln.partition(":")[2].strip() for ln in lines if ln.startswith(_UNIT_TESTING)]
    if named and named != [file]:
        return f"{file}: it reported testing {', '.join(named)}"
    verdicts = [ln.strip() for ln in lines if ln in _TEST_VERDICTS]
    if run.code == 0 and verdicts != ["SUCCESS"]:
        said = ", ".join(verdicts) or "nothing"
        return f"{file}: expected one `SUCCESS` line, promtool printed {said}"
    return None


def parse_test_output(file: str, code: int, output: str) -> TestResult:
    """TestResult from one file's `test rules` output (stdout and stderr merged, in order).

    Failure blocks are read only when promtool failed (exit != 0); a `no file match pattern`
    warning is a failure either way.
    """
    lines = output.splitlines()
    failures = [_no_match_failure(ln) for ln in lines if ln.strip().startswith(_NO_MATCH)]
    if code != 0:
        failures += [_parse_block(b) for b in _failure_blocks(lines)]
        if not failures:
            failures.append(_raw_failure(output.strip() or f"promtool exited {code}, no output"))
    return TestResult(file, code == 0 and not failures, tuple(failures), output)


def _failure_blocks(lines: Sequence[str]) -> list[list[str]]:
    """Split output lines into failure blocks: a block starts after a blank line or at a
    `name:`/`alertname:`/`expr:`/`rule:` line (a `name:` line joins the line after it)."""
    blocks: list[list[str]] = []
    for line in lines:
        if _FRAME_RE.match(line) or line.strip().startswith(_NO_MATCH):
            continue
        if not line.strip():
            blocks.append([])
        elif not blocks or (_starts_block(line) and not _is_group_line(blocks[-1])):
            blocks.append([line])
        else:
            blocks[-1].append(line)
    return [b for b in blocks if b]


def _raw_failure(text: str) -> TestFailure:
    return TestFailure(None, None, None, None, text)


def _starts_block(line: str) -> bool:
    return _BLOCK_START_RE.match(line) is not None


def _is_group_line(block: list[str]) -> bool:
    """True if block is just a `name: <group>,` line, which belongs to the next line's block."""
    return len(block) == 1 and _GROUP_RE.match(block[0]) is not None


def _no_match_failure(line: str) -> TestFailure:
    return _raw_failure(
        f"{line.strip()} (no rules were loaded from this rule_files pattern; "
        "promtool only warns, rulegen fails)"
    )


def _parse_block(block: list[str]) -> TestFailure:
    text = "\n".join(block)
    group = None
    rest = block
    if (g := _GROUP_RE.match(block[0])) is not None and len(block) > 1:
        group, rest = g["group"], block[1:]
    if (m := _ALERT_RE.match(rest[0])) is not None:
        return TestFailure(group, m["alertname"], None, m["time"], text)
    if (m := _EXPR_RE.match(rest[0])) is not None:
        return TestFailure(group, None, _unquote(m["expr"]), m["time"], text)
    if (m := _RULE_RE.match(rest[0])) is not None:
        return TestFailure(group, m["rule"], None, m["time"], text)
    return TestFailure(group, None, None, None, text)  # not a known shape: keep the raw text


def _unquote(quoted: str) -> str:
    """Undo Go's %q (its escapes are a subset of Python's); keep the text if that fails."""
    try:
        value = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        return quoted
    return value if isinstance(value, str) else quoted
