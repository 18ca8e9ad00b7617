"""The proof cache (issue 13 item 2, docs/cache.md), with the real promtool.

Every run goes through a wrapper script as PROMTOOL that logs each call (`test rules <file>`,
`check rules ...`, `--version`) and then runs the bootstrapped promtool 2.42, so a test can say
how often promtool proved what. With REFUSE_TESTS set the wrapper refuses `test rules` (exit 99,
which rulegen reports as a broken promtool, exit 3): a warm run that ran a test could not pass.
With FAKE_VERSION set it reports that version instead of the real one (its bytes stay the same).

One cold run on a slice of the example (accounting, recommendation: the two cheapest to prove)
fills a cache once per module; each test works on a copy of the output and the cache.
The cache's behaviour does not depend on promtool's version, so only the default line runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from rulegen import cache as cache_mod
from rulegen import lint
from rulegen.cache import ProofCache
from rulegen.classes import read_index
from rulegen.lint import runner as lint_runner
from rulegen.lint.context import InventoryContext, ServiceFacts
from rulegen.promtool import CheckResult, Promtool, TestResult
from tests.conftest import DEFAULT_LINE, ROOT, example_slice, line_binary

SERVICES = ("accounting", "recommendation")
ACCOUNTING, RECOMMENDATION = "dotnet/accounting", "python/recommendation"

WRAPPER = """#!/bin/sh
# logs every promtool call, then runs the real one
printf '%s\\n' "$*" >> "${{PROMTOOL_LOG:-/dev/null}}"
if [ "$1" = "--version" ] && [ -n "$FAKE_VERSION" ]; then
  echo "promtool, version $FAKE_VERSION (branch: fake, revision: fake)"
  exit 0
fi
if [ "$1 $2" = "test rules" ] && [ -n "$REFUSE_TESTS" ]; then
  echo "refused: this promtool runs no tests" >&2
  exit 99
fi
exec {real} "$@"
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    calls: list[str]  # the promtool calls, in order
    root: Path  # where it ran

    @property
    def tests_run(self) -> list[str]:
        """The test files `promtool test rules` ran on, sorted, each once. rulegen runs a test
        file cut into slices (rulegen/slices.py), each a file of the same name in a temporary
        `rulegen-slices-*` folder: those count as that test file of the output."""
        ran = {c.split(" ", 2)[2] for c in self.calls if c.startswith("test rules ")}
        return sorted({self._in_output(f) for f in ran})

    def _in_output(self, file: str) -> str:
        if "/rulegen-slices-" not in file:
            return file
        [found] = [p.relative_to(self.root).as_posix()
                   for p in (self.root / "out" / "tests").rglob(Path(file).name)]
        return found

    @property
    def checks_run(self) -> list[str]:
        """The rule files `promtool check rules` ran on, sorted."""
        return sorted(f for c in self.calls if c.startswith("check rules ")
                      for f in c.split()[3:])


@dataclass
class Workspace:
    root: Path
    promtool: Path

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def entries(self, kind: str = "") -> set[str]:
        folder = self.cache / cache_mod.FOLDER
        return {p.name for p in folder.glob(f"{kind}*.json")} if folder.is_dir() else set()

    def test_of(self, service: str) -> str:
        """The test file that proves `service` (`dotnet/accounting`): its proof class's."""
        [c] = [c for c in read_index(self.root / "out") or [] if service in c.services]
        return f"out/tests/{c.tests}"

    def entry_for(self, test_file: str) -> Path:
        """The cache entry of a test file (by the file it was stored for)."""
        found = [p for p in (self.cache / cache_mod.FOLDER).glob("test-*.json")
                 if json.loads(p.read_text())["result"]["file"] == test_file]
        assert len(found) == 1, found
        return found[0]

    def run(self, *args: str, **env: str) -> Run:
        log = self.root / "promtool.log"
        log.unlink(missing_ok=True)
        full = {k: v for k, v in os.environ.items()
                if k not in {"RULEGEN_CACHE_DIR", "GITHUB_ACTIONS", "FAKE_VERSION",
                             "REFUSE_TESTS"}}
        full.update(PYTHONPATH=str(ROOT), PROMTOOL=str(self.promtool), PROMTOOL_LOG=str(log),
                    RULEGEN_PROGRESS_INTERVAL="0", CI="1", **env)
        p = subprocess.run([sys.executable, "-m", "rulegen", *args], cwd=self.root, env=full,
                           capture_output=True, text=True, timeout=600)
        calls = log.read_text().splitlines() if log.exists() else []
        return Run(p.returncode, p.stdout, p.stderr, calls, self.root)

    def test(self, *extra: str, **env: str) -> Run:
        return self.run("test", "inv.yaml", "--out", "out", "--format", "text",
                        "--cache-dir", "cache", *extra, **env)


def _make_wrapper(path: Path) -> Path:
    real = line_binary(DEFAULT_LINE, "promtool")
    path.write_text(WRAPPER.format(real=real))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Run]:
    """A generated slice and the cold run that filled its cache."""
    ws = Workspace(tmp_path_factory.mktemp("cold"), Path())
    ws.promtool = _make_wrapper(ws.root / "promtool")
    (ws.root / "inv.yaml").write_text(example_slice(*SERVICES))
    gen = ws.run("generate", "inv.yaml", "--out", "out")
    assert gen.code == 0, gen.stderr
    return ws, ws.test()


@pytest.fixture
def ws(cold: tuple[Workspace, Run], tmp_path: Path) -> Workspace:
    """A copy of the cold run's inventory, output and filled cache, with its own promtool log."""
    src, _ = cold
    for name in ("inv.yaml", "out", "cache", "promtool"):
        (shutil.copytree if (src.root / name).is_dir() else shutil.copy2)(
            src.root / name, tmp_path / name)
    return Workspace(tmp_path, tmp_path / "promtool")


def _line(run: Run, service: str) -> str:
    [line] = [ln for ln in run.stdout.splitlines() if ln.startswith(f"{service}: ")]
    return line


def _summary(run: Run) -> str:
    return run.stdout.strip().splitlines()[-1]


# --- cold and warm ---------------------------------------------------------------------------


def test_cold_run_proves_everything_and_fills_the_cache(cold: tuple[Workspace, Run]) -> None:
    ws, run = cold
    assert run.code == 0, run.stdout + run.stderr
    assert run.tests_run == sorted([ws.test_of(ACCOUNTING), ws.test_of(RECOMMENDATION)])
    assert run.checks_run == ["out/rules/dotnet/accounting.yml",
                              "out/rules/python/recommendation.yml"]
    for service in SERVICES:
        assert re.fullmatch(rf"{service}: \d+ cases ok", _line(run, service))
    assert re.fullmatch(r"2 services in 2 classes \(0 cached, 2 proved\), \d+ cases, "
                        r"promtool 2\.42\.0: "
                        r"passed", _summary(run))
    assert len(ws.entries("test-")) == 2 and len(ws.entries("check-")) == 2
    assert (ws.cache / "CACHEDIR.TAG").read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
    assert "0/2 test files and 0/2 rule files from the cache, 4 results stored" in run.stderr


def test_warm_run_runs_no_promtool_tests_and_says_cached(ws: Workspace,
                                                         cold: tuple[Workspace, Run]) -> None:
    run = ws.test(REFUSE_TESTS="1")
    assert run.code == 0, run.stdout + run.stderr
    assert run.tests_run == [] and run.checks_run == []
    assert run.calls == ["--version"]  # finding promtool is all it did
    _, first = cold
    for service in SERVICES:
        assert _line(run, service) == _line(first, service) + " (cached)"
    assert _summary(run) == _summary(first).replace("(0 cached, 2 proved)",
                                                    "(2 cached, 0 proved)")
    assert "2/2 test files and 2/2 rule files from the cache, 0 results stored" in run.stderr


def test_warm_rulegen_check_uses_the_same_cache(ws: Workspace) -> None:
    run = ws.run("check", "inv.yaml", "--out", "out", "--format", "json", "--cache-dir", "cache",
                 REFUSE_TESTS="1")
    assert run.code == 0, run.stderr
    assert run.tests_run == [] and run.checks_run == []
    assert "accounting: 30 cases ok (cached)" in run.stderr.splitlines()
    assert re.search(r"^rulegen check: 2 services in 2 classes \(2 cached, 0 proved\), "
                     r"\d+ cases, "
                     r"promtool 2\.42\.0; no findings: passed$", run.stderr, re.M), run.stderr


def test_cache_dir_from_the_environment(ws: Workspace) -> None:
    run = ws.run("test", "inv.yaml", "--out", "out", RULEGEN_CACHE_DIR="cache", REFUSE_TESTS="1")
    assert run.code == 0, run.stderr
    assert run.tests_run == []
    assert "(2 cached, 0 proved)" in _summary(run)


def test_no_cache_proves_everything_and_writes_nothing(ws: Workspace) -> None:
    before = {p: p.stat().st_mtime_ns for p in ws.cache.rglob("*")}
    run = ws.test("--no-cache")
    assert run.code == 0, run.stderr
    assert run.tests_run == sorted([ws.test_of(ACCOUNTING), ws.test_of(RECOMMENDATION)])
    assert "cached" not in run.stdout
    assert {p: p.stat().st_mtime_ns for p in ws.cache.rglob("*")} == before


# --- what invalidates --------------------------------------------------------------------------


def test_a_threshold_change_reproves_exactly_that_service(ws: Workspace) -> None:
    inv = ws.root / "inv.yaml"
    # three lines added to accounting: the header of every later service's rule file names
    # its (now moved) inventory line, which must not count as a change to that file
    text = inv.read_text()
    edited = text.replace("    memory_limit: {source: none}\n",
                          "    memory_limit: {source: none}\n    alerts:\n"
                          "      memory-growth: {threshold: 12MiB/h}\n", 1)
    assert edited != text
    inv.write_text(edited)
    before = {p: p.read_bytes() for p in (ws.root / "out").rglob("*.yml")}
    old_accounting = ws.entry_for(ws.test_of(ACCOUNTING)).name
    assert ws.run("generate", "inv.yaml", "--out", "out").code == 0
    changed = sorted(str(p.relative_to(ws.root)) for p, b in before.items()
                     if not p.exists() or p.read_bytes() != b)
    # its header's line number moved; its class's canonical tests have no line in them
    assert "out/rules/python/recommendation.yml" in changed
    assert ws.test_of(RECOMMENDATION) not in changed

    run = ws.test("--cache-prune")
    assert run.code == 0, run.stdout + run.stderr
    assert run.tests_run == [ws.test_of(ACCOUNTING)]
    assert run.checks_run == ["out/rules/dotnet/accounting.yml"]
    assert re.fullmatch(r"accounting: \d+ cases ok", _line(run, "accounting"))
    assert _line(run, "recommendation").endswith(" cases ok (cached)")
    assert "(1 cached, 1 proved)" in _summary(run)
    # pruned: the old accounting entries went, the cache holds this output's results only
    assert old_accounting not in ws.entries()
    assert len(ws.entries("test-")) == 2 and len(ws.entries("check-")) == 2
    assert "2 unused entries pruned" in run.stderr


def test_another_promtool_version_invalidates(ws: Workspace) -> None:
    run = ws.test(FAKE_VERSION="2.99.0")
    assert run.code == 0, run.stderr
    assert run.tests_run == sorted([ws.test_of(ACCOUNTING), ws.test_of(RECOMMENDATION)])
    assert len(run.checks_run) == 2
    assert "(0 cached, 2 proved)" in _summary(run) and "promtool 2.99.0" in _summary(run)
    # the real version's entries are still there, and still hit
    again = ws.test(REFUSE_TESTS="1")
    assert again.code == 0 and again.tests_run == [] and "(2 cached" in _summary(again)


def test_another_promtool_binary_of_the_same_version_invalidates(ws: Workspace) -> None:
    ws.promtool.write_text(ws.promtool.read_text() + "# another build\n")
    run = ws.test()
    assert run.code == 0, run.stderr
    assert run.tests_run == sorted([ws.test_of(ACCOUNTING), ws.test_of(RECOMMENDATION)])
    assert "(0 cached, 2 proved)" in _summary(run) and "promtool 2.42.0" in _summary(run)


# --- what is never trusted ---------------------------------------------------------------------


def _break_accounting(ws: Workspace) -> None:
    """A test group promtool fails: the memory-growth alert expected at 1m of an empty input."""
    test = ws.root / ws.test_of(ACCOUNTING)
    text = test.read_text()
    alert = re.search(r"alertname: (\S+)", text)
    assert alert
    test.write_text(text + '  - name: "cache/failing"\n    interval: 1m\n'
                    "    alert_rule_test:\n      - eval_time: 1m\n"
                    f"        alertname: {alert[1]}\n        exp_alerts:\n"
                    "          - exp_labels: {service_name: accounting}\n")


def test_a_failing_result_is_never_cached(ws: Workspace) -> None:
    _break_accounting(ws)
    entries = ws.entries()
    for _ in range(2):
        run = ws.test()
        assert run.code == 1, run.stdout + run.stderr
        assert run.tests_run == [ws.test_of(ACCOUNTING)]  # proved again, each time
        assert "accounting: 31 cases FAILED (1 failing)" in run.stdout
        assert _line(run, "recommendation").endswith("(cached)")
        assert "(1 cached, 1 proved)" in _summary(run)
        assert ws.entries() == entries  # nothing stored for the failure
        assert "0 results stored" in run.stderr


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign", "tampered",
                                    "other-format"])
def test_a_corrupt_or_foreign_entry_is_ignored(ws: Workspace, damage: str) -> None:
    entry = ws.entry_for(ws.test_of(ACCOUNTING))
    other = ws.entry_for(ws.test_of(RECOMMENDATION))
    data = json.loads(entry.read_text())
    if damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:40])
    elif damage == "garbage":
        entry.write_bytes(b"\x00\xff" * 100)
    elif damage == "foreign":  # a whole, valid entry, but of another key
        entry.write_bytes(other.read_bytes())
    elif damage == "tampered":  # the result changed, the digest not
        data["result"]["output"] += "edited"
        entry.write_text(json.dumps(data))
    else:
        data["format"] = cache_mod.FORMAT + 1
        entry.write_text(json.dumps(data))
    run = ws.test()
    assert run.code == 0, run.stdout + run.stderr
    assert run.tests_run == [ws.test_of(ACCOUNTING)]
    assert _line(run, "recommendation").endswith("(cached)")
    assert "1 corrupt or foreign entry ignored" in run.stderr
    # the entry was proved again and rewritten: the next run needs no promtool test
    again = ws.test(REFUSE_TESTS="1")
    assert again.code == 0 and again.tests_run == [], again.stderr


def test_cache_prune_keeps_what_the_run_used_and_nothing_foreign_to_it(ws: Workspace) -> None:
    folder = ws.cache / cache_mod.FOLDER
    stale = folder / f"test-{'0' * 64}.json"
    stale.write_text("{}")
    notes = folder / "notes.txt"  # not rulegen's: never touched
    notes.write_text("mine")
    fresh_tmp = folder / ".tmp-inflight"  # another run writing right now
    fresh_tmp.write_text("")
    old_tmp = folder / ".tmp-killed"
    old_tmp.write_text("")
    os.utime(old_tmp, (0, 0))
    used = ws.entries()
    run = ws.test("--cache-prune", REFUSE_TESTS="1")
    assert run.code == 0, run.stderr
    assert not stale.exists() and not old_tmp.exists()
    assert notes.exists() and fresh_tmp.exists()
    assert ws.entries() == used - {stale.name}
    assert "2 unused entries pruned" in run.stderr


def test_cache_prune_needs_a_cache_dir(ws: Workspace) -> None:
    run = ws.run("test", "inv.yaml", "--out", "out", "--cache-prune")
    assert run.code == 2
    assert "--cache-prune needs --cache-dir" in run.stderr
    assert run.calls == []


@pytest.mark.parametrize("where", ["out", "out/cache", "."])
def test_cache_dir_inside_or_around_the_output_is_refused(ws: Workspace, where: str) -> None:
    run = ws.run("check", "inv.yaml", "--out", "out", "--cache-dir", where, "--format", "text")
    assert run.code == 2, run.stderr
    assert re.search(r"--cache-dir \S+ (is inside|contains) the output folder out/", run.stderr)
    assert run.calls == []
    assert not (ws.root / "out" / "cache").exists()


# --- the cache as a library ---------------------------------------------------------------------


@pytest.fixture
def lib(tmp_path: Path) -> tuple[ProofCache, Path]:
    tool = tmp_path / "promtool"
    tool.write_text("#!/bin/sh\n")
    pt = Promtool(str(tool), (2, 42, 0), "promtool, version 2.42.0")
    out = tmp_path / "out"
    (out / "rules" / "go").mkdir(parents=True)
    (out / "tests" / "go").mkdir(parents=True)
    (out / "rules" / "go" / "a.yml").write_text("# header, line 3\ngroups: []\n")
    (out / "tests" / "go" / "a.yml").write_text(
        '# header\nrule_files:\n  - "../../rules/go/a.yml"\ntests: []\n')
    return ProofCache(tmp_path / "cache", pt), out


DOC = {"rule_files": ["../../rules/go/a.yml"], "tests": []}  # the test file, parsed


def test_keys_follow_contents_not_headers_or_places(lib: tuple[ProofCache, Path],
                                                    tmp_path: Path) -> None:
    cache, out = lib
    test, rules = out / "tests/go/a.yml", out / "rules/go/a.yml"
    key = cache.test_key(test, DOC)
    check = cache.check_key(rules, "duplicate-rules")
    assert key and key.startswith("test-") and check and check.startswith("check-")
    assert cache.check_key(rules, "none") != check
    # a moved output: same key
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)
    assert cache.test_key(moved / "tests/go/a.yml", DOC) == key
    # another header comment: same key
    rules.write_text("# header, line 9\n\ngroups: []\n")
    assert cache.test_key(test, DOC) == key
    assert cache.check_key(rules, "duplicate-rules") == check
    # a comment after the first YAML line, the rule file's content, the test's: new keys
    rules.write_text("# header, line 9\ngroups: []\n# more\n")
    assert cache.test_key(test, DOC) != key
    assert cache.check_key(rules, "duplicate-rules") != check
    rules.write_text("# header, line 3\ngroups: []\n")
    test.write_text(test.read_text() + "evaluation_interval: 1m\n")
    assert cache.test_key(test, DOC) not in {key, None}
    # no key when the rule file cannot be read or the doc is not a test file
    (out / "rules/go/a.yml").unlink()
    assert cache.test_key(test, DOC) is None
    assert cache.test_key(test, None) is None


def test_only_passes_are_stored(lib: tuple[ProofCache, Path]) -> None:
    cache, out = lib
    file = str(out / "tests/go/a.yml")
    key = cache.test_key(Path(file), DOC)
    assert key
    cache.put_test(key, TestResult(file, False, (), "FAILED"))
    cache.put_check("check-" + "1" * 64, CheckResult("r.yml", True, None, (), ("lint error",)))
    cache.put_check("check-" + "2" * 64, CheckResult("r.yml", False, None, ("bad",), ()))
    assert not cache.folder.exists() and cache.stats.stored == 0
    cache.put_test(key, TestResult(file, True, (), f"Unit Testing:  {file}\n  SUCCESS\n"))
    hit = cache.get_test(key, "moved/a.yml")
    assert hit == TestResult("moved/a.yml", True, (), "Unit Testing:  moved/a.yml\n  SUCCESS\n")
    assert cache.get_check("check-" + "3" * 64, "r.yml") is None  # a miss is no entry ignored
    assert cache.stats.ignored == 0


def test_concurrent_writers_leave_whole_entries(lib: tuple[ProofCache, Path]) -> None:
    """Writers and readers at once (as parallel runs sharing a folder): a reader never sees a
    part of an entry (it would count it as ignored), and no temporary file is left."""
    cache, out = lib
    file = str(out / "tests/go/a.yml")
    keys = [f"test-{n:064x}" for n in range(10)]
    body = "x" * 200_000  # large enough that a write is not one syscall's worth
    errors: list[BaseException] = []
    writing = threading.Event()

    def write(k: int) -> None:
        try:
            for _ in range(5):
                for key in keys:
                    cache.put_test(key, TestResult(file, True, (), f"run {k}\n{body}"))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    def read() -> None:
        while writing.is_set():
            for key in keys:
                hit = cache.get_test(key, file)
                if hit is not None and not re.fullmatch(rf"run \d\n{body}", hit.output):
                    errors.append(AssertionError(f"partial output for {key}"))

    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    writing.set()
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in readers:
        t.join()
    assert errors == []
    assert cache.stats.ignored == 0
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted(f"{k}.json" for k in keys)
    assert all(cache.get_test(key, file) is not None for key in keys)


# --- rulegen's own lint (rulegen check) ---------------------------------------------------------

DUPLICATE = """groups:
  - name: g
    rules:
      - alert: Same
        expr: vector(1)
        labels: {severity: warning, owner: team, service: a}
        annotations: {summary: s, description: d, runbook_url: https://r.example.com}
"""
FLAWED = DUPLICATE.replace("vector(1)", "rate(x[1m)")  # does not parse: promql/syntax


def _lint(cache: ProofCache, *paths: Path, context: InventoryContext | None = None) -> list[str]:
    return [f"{p.path}:{p.line}:{p.col} {p.check} {p.message}"
            for p in lint.lint_files(paths, inventory_context=context, cache=cache)]


def test_lint_results_are_cached_per_clean_file(lib: tuple[ProofCache, Path],
                                                tmp_path: Path) -> None:
    """A file without findings is kept with its rules' keys: a second lint reads nothing, and
    the duplicate check across files still sees both files' rules and says the same."""
    cache, _ = lib
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text(DUPLICATE)
    b.write_text("# another file\n" + DUPLICATE)
    cold = _lint(cache, a, b)
    assert cold == [f"{b}:5:9 rule/duplicate alert Same with owner=\"team\", service=\"a\", "
                    f"severity=\"warning\" is already defined at {a}:4"]
    assert (cache.stats.lint_lookups, cache.stats.lint_hits, cache.stats.stored) == (2, 0, 2)
    warm = ProofCache(cache.root, Promtool(str(tmp_path / "promtool"), (2, 42, 0),
                                          "promtool, version 2.42.0"))
    with patch.object(lint_runner, "read_rule_file", side_effect=AssertionError("read")):
        assert _lint(warm, a, b) == cold
    assert (warm.stats.lint_lookups, warm.stats.lint_hits) == (2, 2)
    assert "2/2 lint results from the cache" in warm.summary(0, 0)


def test_a_lint_finding_is_never_cached(lib: tuple[ProofCache, Path], tmp_path: Path) -> None:
    cache, _ = lib
    bad = tmp_path / "bad.yml"
    bad.write_text(FLAWED)
    first = _lint(cache, bad)
    assert any(" promql/syntax " in p for p in first)
    assert cache.stats.stored == 0
    assert _lint(cache, bad) == first and cache.stats.lint_hits == 0


def test_a_clean_lint_of_the_same_files_is_one_entry(lib: tuple[ProofCache, Path],
                                                    tmp_path: Path) -> None:
    """A lint that found nothing in a set of files is kept as one entry too: the next run over
    the same files reads that entry, not one per file, and keeps the files' entries (pruning
    spares them). After one file changes, only that file is linted again."""
    cache, _ = lib
    paths = [tmp_path / f"{n}.yml" for n in "abc"]
    for n, p in enumerate(paths):
        p.write_text(DUPLICATE.replace("Same", f"Alert{n}"))
    assert _lint(cache, *paths) == []
    assert cache.stats.stored == 4 and len(list(cache.folder.glob("lintset-*.json"))) == 1

    def again() -> ProofCache:
        return ProofCache(cache.root, Promtool(str(tmp_path / "promtool"), (2, 42, 0),
                                               "promtool, version 2.42.0"))

    warm = again()
    with patch.object(lint_runner, "read_rule_file", side_effect=AssertionError("read")), \
            patch.object(ProofCache, "get_lint", side_effect=AssertionError("per file")):
        assert _lint(warm, *paths) == []
    assert (warm.stats.lint_lookups, warm.stats.lint_hits, warm.stats.stored) == (3, 3, 0)
    assert warm.prune() == 0  # the files' entries count as used
    paths[1].write_text(DUPLICATE.replace("Same", "Renamed"))
    changed = again()
    read = []
    real = lint_runner.read_rule_file

    def reading(path: str, *args: Any, **kw: Any) -> Any:
        read.append(path)
        return real(path, *args, **kw)

    with patch.object(lint_runner, "read_rule_file", side_effect=reading):
        assert _lint(changed, *paths) == []
    assert read == [str(paths[1])]
    assert (changed.stats.lint_lookups, changed.stats.lint_hits) == (3, 2)
    assert changed.stats.stored == 2  # the changed file's entry and the new set's
    paths[2].write_text(DUPLICATE.replace("Same", "Alert0"))  # a duplicate across files
    dup = again()
    assert len(_lint(dup, *paths)) == 1
    assert len(list(cache.folder.glob("lintset-*.json"))) == 2  # a finding is never kept


def test_a_lint_key_follows_the_file_and_the_facts_its_checks_read(
        lib: tuple[ProofCache, Path], tmp_path: Path) -> None:
    """Unlike promtool's keys, a lint key takes the whole text (the header names the service
    whose facts apply, and findings name its line) and the file's path (findings name it);
    and the facts of the file's service, and what every service declares."""
    cache, _ = lib
    f = tmp_path / "a.yml"
    f.write_text(DUPLICATE)
    facts = ServiceFacts(scrape_s=30, gc_s=300, selector=(("job", "=", "a"),))
    base = InventoryContext({"a": facts, "b": ServiceFacts()})

    def key(text: str = DUPLICATE, path: Path = f,
            context: InventoryContext | None = base) -> str | None:
        path.write_text(text)
        return cache.lint_key(lint_runner._inputs(str(path), text.encode(),
                                                  lint_runner._Facts(context), 60))

    same = key()
    assert same and same.startswith("lint-") and key() == same
    assert key(text="# a comment\n" + DUPLICATE) != same
    assert key(path=tmp_path / "b.yml") != same
    assert key(context=None) != same
    changed = InventoryContext({"a": dataclasses.replace(facts, gc_s=600), "b": ServiceFacts()})
    assert key(context=changed) != same  # no header: every service's facts count
    header = "# Generated by rulegen from inv.yaml (service b, line 3). DO NOT EDIT.\n"
    of_b = key(text=header + DUPLICATE)
    assert key(text=header + DUPLICATE, context=changed) == of_b  # only b's facts count ...
    other = InventoryContext({"a": dataclasses.replace(facts, selector=(("job", "=", "z"),)),
                              "b": ServiceFacts()})
    assert key(text=header + DUPLICATE, context=other) != of_b  # ... and what all declare


def test_check_lints_from_the_cache_and_test_prunes_no_lint_entry(ws: Workspace) -> None:
    cold = ws.run("check", "inv.yaml", "--out", "out", "--format", "json", "--cache-dir",
                  "cache")
    assert cold.code == 0, cold.stderr
    assert "and 0/2 lint results from the cache" in cold.stderr
    assert len(ws.entries("lint-")) == 2
    warm = ws.run("check", "inv.yaml", "--out", "out", "--format", "json", "--cache-dir",
                  "cache")
    assert warm.code == 0 and warm.stdout == cold.stdout
    assert "2/2 test files, 2/2 rule files and 2/2 lint results from the cache" in warm.stderr
    assert ws.test("--cache-prune").code == 0
    assert len(ws.entries("lint-")) == 2  # rulegen test looks up no lint result
