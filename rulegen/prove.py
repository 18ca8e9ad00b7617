"""Prove an output tree: promtool check rules, then the generated promtool tests.

Returns findings as values; the CLI prints them. promtool's own failure text is kept verbatim.
Each service's result is handed to a `ProveProgress` as soon as its promtool run ends, so a
long run can say how far it is (rulegen/progress.py prints that). With a `ProofCache`
(rulegen/cache.py) a file whose passing result is cached is not given to promtool again.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rulegen import promtool, slices
from rulegen.classes import (
    CLASS_DIR,
    INDEX,
    RULES_SUFFIX,
    ClassIndexError,
    Identity,
    ProofClass,
    digest,
    is_test_file,
    read_index,
)
from rulegen.errors import Problem, PromtoolUnusable
from rulegen.layout import (
    class_members,
    class_runtime,
    class_services,
    is_class_file,
    is_members_file,
    members_problem,
    members_rules_path,
)
from rulegen.recording import LIMITS_DIR

if TYPE_CHECKING:
    from rulegen.cache import ProofCache

# The `# <family>/<case>` comment the generator appends to every promql_expr_test expression:
# promtool names no test group for a failed expression test, only its expression.
_CASE_COMMENT_RE = re.compile(r"#\s*(\S+)\s*$")
_BATCH_SUFFIX = "/batch"
_LINT = "duplicate-rules"  # promtool check rules --lint=


@dataclass(frozen=True)
class CaseResult:
    """One generated case: a test group of its own (`memory-growth/leak-linear`), or one case
    inside a batch group (`memory-growth/leak-sawtooth` in `memory-growth/batch`).

    `failures` is promtool's text for each failing assertion of the case. `proven` is False when
    promtool failed the file without naming any case (a rule file that does not load, say):
    then a case without failures of its own was not proven either."""

    group: str
    name: str
    failures: tuple[str, ...] = ()
    proven: bool = True

    @property
    def status(self) -> str:
        """'passed', 'failed' or 'not run'."""
        if self.failures:
            return "failed"
        return "passed" if self.proven else "not run"


@dataclass(frozen=True)
class ServiceResult:
    rules_file: str
    test_file: str | None
    cases: int  # generated cases (CaseResult) of the test file
    failures: tuple[promtool.TestFailure, ...] = ()
    output: str = ""
    case_results: tuple[CaseResult, ...] = ()
    unattributed: tuple[str, ...] = ()  # failure texts that name no case of the file
    seconds: float = 0.0  # wall time of its promtool run (0 when cached)
    cached: bool = False  # the passing result came from the cache: promtool did not run
    # The services this result proves (`go/checkout`): the proof class of the service named
    # by rules_file, its first member (rulegen/classes.py); one service without an index.
    # test_file is the class's: its canonical form's tests, or the service's own.
    members: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def service(self) -> str:
        return Path(self.rules_file).stem

    @property
    def runtime(self) -> str:
        return Path(self.rules_file).parent.name

    @property
    def covers(self) -> int:
        """How many services this result proves."""
        return max(1, len(self.members))

    @property
    def failed_cases(self) -> int:
        return sum(c.status == "failed" for c in self.case_results)

    @property
    def not_run(self) -> int:
        return sum(c.status == "not run" for c in self.case_results)


class ProveProgress:
    """What `prove` says while it runs; this base says nothing. Called from one thread."""

    def stage(self, text: str) -> None:
        """A step of the run starts (`promtool check rules on 14 files`)."""

    def tests_started(self, services: int, test_files: int) -> None:
        """The generated tests of `services` services (`test_files` of them with tests)
        start."""

    def service_done(self, result: ServiceResult) -> None:
        """One service's result, as soon as it is known."""


@dataclass
class Proof:
    tool: promtool.Promtool
    checks: list[promtool.CheckResult] = field(default_factory=list)
    services: list[ServiceResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    cache_used: bool = False  # a proof cache was consulted (the summary counts cached services)

    @property
    def ok(self) -> bool:
        return (all(c.ok and not c.lint for c in self.checks)
                and all(s.ok for s in self.services) and not self.problems)

    @property
    def service_count(self) -> int:
        """Services proved (or checked), over all classes."""
        return sum(s.covers for s in self.services)

    @property
    def classes(self) -> int:
        """Proof classes with a test file (one per test file promtool ran or the cache
        answered)."""
        return sum(s.test_file is not None for s in self.services)

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.services)

    @property
    def failed_cases(self) -> int:
        return sum(s.failed_cases for s in self.services)

    @property
    def not_run(self) -> int:
        return sum(s.not_run for s in self.services)

    @property
    def cached(self) -> int:
        """Services whose test result came from the cache."""
        return sum(s.cached for s in self.services)

    @property
    def proved(self) -> int:
        """Services whose generated tests promtool ran in this run."""
        return sum(s.test_file is not None and not s.cached for s in self.services)


def case_of(expr: str) -> str | None:
    """The case a generated expression test belongs to: its `# <family>/<case>` comment."""
    m = _CASE_COMMENT_RE.search(expr)
    return m[1] if m else None


def generated_cases(doc: Any) -> list[tuple[str, str]]:
    """(test group, case) of every generated case of a parsed test file, in file order: a
    group's name for a group of one case, the expression comments for a `<family>/batch`
    group. Empty for a file that did not parse (`_verify` reports it)."""
    tests = doc.get("tests") if isinstance(doc, dict) else None
    found: dict[tuple[str, str], None] = {}
    for t in tests if isinstance(tests, list) else []:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            continue
        group = t["name"]
        if not group.endswith(_BATCH_SUFFIX):
            found[(group, group)] = None
            continue
        for e in t.get("promql_expr_test") or []:
            case = case_of(str(e.get("expr", ""))) if isinstance(e, dict) else None
            found[(group, case or group)] = None
    return list(found)


def failure_case(failure: promtool.TestFailure, cases: set[str]) -> str | None:
    """The case a promtool failure belongs to, or None: promtool names the group of a failed
    alert test, and a failed expression test by its expression (with the case comment)."""
    if failure.group and failure.group in cases:
        return failure.group
    if failure.expr and (case := case_of(failure.expr)) in cases:
        return case
    return None


_NAME_LINE_RE = re.compile(r'^(\s*- )name: "?(?P<case>[^"#]*?)"?\s*$')
_EXPR_LINE_RE = re.compile(r'^(\s*- )expr: .*#\s*(?P<case>[^\s"]+)"?\s*$')


def case_positions(text: str) -> dict[str, tuple[int, int]]:
    """(line, column) of each case in a generated test file's text: its group's `name:`, or
    for a case inside a batch its first expression."""
    found: dict[str, tuple[int, int]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        m = _NAME_LINE_RE.match(line) or _EXPR_LINE_RE.match(line)
        if m:
            found.setdefault(m["case"], (n, len(m[1]) + 1))
    return found


def case_results(pairs: list[tuple[str, str]],
                 failures: tuple[promtool.TestFailure, ...]
                 ) -> tuple[tuple[CaseResult, ...], tuple[str, ...]]:
    """Each case's result, and the failure texts that name no case."""
    names = {c for _, c in pairs}
    by_case: dict[str, list[str]] = {}
    loose: list[str] = []
    for f in failures:
        case = failure_case(f, names)
        if case is None:
            loose.append(f.text)
        else:
            by_case.setdefault(case, []).append(f.text)
    results = tuple(CaseResult(g, c, tuple(by_case.get(c, ())), proven=not loose)
                    for g, c in pairs)
    return results, tuple(dict.fromkeys(loose))


def is_shared_file(out: Path, rule: Path) -> bool:
    """A fleet limit's rule file, or a rule class's members (no tests of their own)."""
    rel = rule.relative_to(out).as_posix()
    return rule.parent == out / LIMITS_DIR or is_members_file(rel)


def prove(out: Path, pt: promtool.Promtool, *, run_tests: bool = True,
          tests_expected: bool = True, progress: ProveProgress | None = None,
          jobs: int | None = None, cache: ProofCache | None = None) -> Proof:
    """`tests_expected=False` (the inventory says `output: {tests: false}`): a rule file
    without a test file is checked by promtool only, not reported as untested. `jobs` promtool
    test processes run at a time (default: one per CPU). With a `cache`, files whose passing
    result it holds are not run again, and new passing results are stored in it."""
    say = progress or ProveProgress()
    rules = sorted(out.glob("rules/*/*.yml"))
    tests = sorted(p for p in out.glob("tests/**/*.yml")
                   if is_test_file(p.relative_to(out).as_posix()))
    canonical = sorted(out.glob(f"{CLASS_DIR}/*/*{RULES_SUFFIX}"))
    proof = Proof(pt, cache_used=bool(cache and cache.enabled))
    if not rules:
        proof.problems.append(Problem(str(out), 0, 0, "no rule files found; run rulegen "
                                      "generate first", "prove/empty"))
        return proof
    proof.checks = _check_rules(pt, rules, say, cache)
    by_rel = {p.relative_to(out / "tests").as_posix(): p for p in tests}
    parsed: dict[str, Any] = {}
    if tests:  # the rule files are read for the tests' sake only
        proof.problems += _verify(out, rules + canonical, tests, parsed)
    if not run_tests:
        return proof
    done: dict[str, ServiceResult] = {}
    pending: list[tuple[Path, Path]] = []
    # The fleet's limit files have no tests of their own: each service's tests load the one it
    # reads (rulegen/recording.py) and prove both. A rule class's members file: its class's
    # canonical tests load the canonical one (rulegen/layout.py).
    services = [r for r in rules if not is_shared_file(out, r)]
    classes, index_problems = _classes(out, services, by_rel)
    proof.problems += index_problems
    # One test run per class; its result is reported under its first service.
    members = {out / "rules" / c.first: c.members for c in classes}
    for c in classes:
        rule = out / "rules" / c.first
        test = by_rel.get(c.tests)
        if test is None:
            missing = promtool.TestFailure(None, None, None, None,
                                           f"{rule}: no generated test file tests/{c.tests}")
            done[str(rule)] = _with_cases(ServiceResult(
                str(rule), None, 0, (missing,) if tests_expected else (),
                members=c.members), [])
        else:
            pending.append((rule, test))
    say.tests_started(len(services), len(pending))
    for result in done.values():
        say.service_done(result)
    keys: dict[Path, str] = {}
    to_run: list[tuple[Path, Path]] = []
    for rule, test in pending:
        doc = parsed.get(test.relative_to(out).as_posix())
        key = cache.test_key(test, doc) if cache else None
        hit = cache.get_test(key, str(test)) if cache and key else None
        if hit is None:
            if key:
                keys[test] = key
            to_run.append((rule, test))
            continue
        pairs = generated_cases(doc)
        result = _with_cases(ServiceResult(str(rule), str(test), len(pairs), (), hit.output,
                                           cached=True, members=members[rule]), pairs)
        done[str(rule)] = result
        say.service_done(result)
    runs = [(rule, test, parsed.get(test.relative_to(out).as_posix())) for rule, test in to_run]
    for rule, test, r, seconds in _run_tests(pt, runs, jobs):
        pairs = generated_cases(parsed.get(test.relative_to(out).as_posix()))
        result = _with_cases(ServiceResult(str(rule), str(test), len(pairs),
                                           r.failures if not r.ok else (), r.output,
                                           seconds=seconds, members=members[rule]), pairs)
        if cache and test in keys:
            cache.put_test(keys[test], r)
        done[str(rule)] = result
        say.service_done(result)
    proof.services = [done[str(out / "rules" / c.first)] for c in classes]
    return proof


def _check_rules(pt: promtool.Promtool, rules: list[Path], say: ProveProgress,
                 cache: ProofCache | None) -> list[promtool.CheckResult]:
    """`promtool check rules` (one process) on the rule files whose clean pass is not cached;
    results in the order of `rules`."""
    keys = {p: cache.check_key(p, _LINT) for p in rules} if cache else {}
    results: dict[Path, promtool.CheckResult] = {}
    for p, key in keys.items():
        if cache and key and (hit := cache.get_check(key, str(p))) is not None:
            results[p] = hit
    left = [p for p in rules if p not in results]
    if left:
        cached = f" ({len(results)} cached)" if results else ""
        say.stage(f"promtool check rules on {len(left)} rule file{'s' if len(left) != 1 else ''}"
                  + cached)
        for p, r in zip(left, promtool.check_rules_batch(pt, [str(p) for p in left], lint=_LINT),
                        strict=True):
            results[p] = r
            if cache and (key := keys.get(p)):
                cache.put_check(key, r)
    return [results[p] for p in rules]


def _with_cases(s: ServiceResult, pairs: list[tuple[str, str]]) -> ServiceResult:
    results, loose = case_results(pairs, s.failures)
    return ServiceResult(s.rules_file, s.test_file, s.cases, s.failures, s.output, results,
                         loose, s.seconds, s.cached, s.members)


@dataclass(frozen=True)
class _Class:
    first: str  # the rule file of its first service, relative to rules/: go/checkout.yml
    tests: str  # its test file, relative to tests/
    members: tuple[str, ...]  # go/checkout, go/cart, ...


def _classes(out: Path, services: list[Path], tests: dict[str, Path]
             ) -> tuple[list[_Class], list[Problem]]:
    """The proof classes of an output tree (tests/classes.yml, rulegen/classes.py), in the
    order of their first services' rule files. Without an index, every service is a class of
    its own. A service the index does not name stays a class of its own, so nothing goes
    unproved. Findings: an index that names a rule file that is not there, or a test file that
    is not; a canonical rule file whose digest is not the class's; a service's rule file that
    is not its class's canonical form with its identity values put back (edited by hand)."""
    rels = [r.relative_to(out / "rules").as_posix() for r in services]
    own = [_Class(rel, rel, _alone(out, rel)) for rel in rels]
    index = out / INDEX
    try:
        classes = read_index(out)
    except ClassIndexError as exc:
        return own, [Problem(str(index), 0, 0, f"{exc}; run rulegen generate", "prove/classes")]
    if classes is None:
        return own, []
    known = set(rels)
    problems: list[str] = []
    found: dict[str, _Class] = {}
    for c in classes:
        first = f"{c.services[0]}.yml"
        absent = [s for s in c.services if f"{s}.yml" not in known]
        problems += [f"names {s}, which has no rule file rules/{s}.yml" for s in absent]
        if c.tests not in tests:
            problems.append(f"names tests/{c.tests}, which is not there")
        if c.canonical is None and c.tests != first:
            problems.append(f"{c.services[0]} is proved by tests/{c.tests}, not by its own "
                            f"tests/{first}")
        elif c.canonical is not None and not absent:
            problems += _members_of_canonical(out, c)
        # a rule class's file (output.layout: classes) counts as the services it holds
        held = tuple(m for s, values in zip(c.services, c.identities, strict=True)
                     for m in (class_services(s, values)
                               if values is not None and len(values) > 1
                               and is_class_file(f"rules/{s}.yml") else (s,)))
        found[first] = _Class(first, c.tests, held)
        known -= {f"{s}.yml" for s in c.services}
    for rel in known:  # a rule file the index does not name: proved by its own test file
        found[rel] = _Class(rel, rel, _alone(out, rel))
    return ([found[rel] for rel in rels if rel in found],
            [Problem(str(index), 0, 0, f"{m}; run rulegen generate", "prove/classes")
             for m in problems])


def _alone(out: Path, rel: str) -> tuple[str, ...]:
    """The services of a rule file the index does not name: the one it is named after, or a
    rule class's members (its members file says which)."""
    name = rel.removesuffix(".yml")
    if not is_class_file(f"rules/{rel}"):
        return (name,)
    try:
        text = (out / members_rules_path(name.removeprefix("classes/"))).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return (name,)
    return tuple(f"{class_runtime(name)}/{m}" for m in class_members(text)) or (name,)


def _members_of_canonical(out: Path, c: ProofClass) -> list[str]:
    """A class's canonical rule file is the one its digest names, and each service's rule file
    is that text with the service's identity values put back."""
    where = f"tests/{c.rules}"
    try:
        text = (out / where).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [f"names {where}, which does not read"]
    if digest(text) != c.canonical:
        return [f"{where} is not the canonical form {c.canonical} (edited by hand?)"]
    problems = []
    for name, values in zip(c.services, c.identities, strict=True):
        try:
            rules = (out / "rules" / f"{name}.yml").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            problems.append(f"rules/{name}.yml does not read")
            continue
        try:
            same = values is not None and Identity(values).instantiate(text) == rules
        except IndexError:  # fewer values than the canonical form has placeholders
            same = False
        if not same:
            problems.append(f"rules/{name}.yml is not its class's canonical form {where} with "
                            "its identity values put back (edited by hand?), so that class's "
                            "proof does not cover it")
        elif values is not None and is_class_file(f"rules/{name}.yml"):
            problems += _class_members(out, name, values, rules)
    return problems


def _class_members(out: Path, name: str, values: tuple[str, ...], rules: str) -> list[str]:
    """A rule class's members file records the services its class file names (layout.py)."""
    rel = members_rules_path(name.removeprefix("classes/"))
    try:
        text = (out / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [f"{rel} does not read"]
    services = [s.split("/", 1)[1] for s in class_services(name, values)]
    why = members_problem(rules, text, services, values[-1])
    return [f"{rel} {why} (edited by hand?), so a member's telemetry alert is wrong"] \
        if why else []


def _run_tests(pt: promtool.Promtool, pending: list[tuple[Path, Path, Any]], jobs: int | None
               ) -> Iterator[tuple[Path, Path, promtool.TestResult, float]]:
    """`promtool test rules` on each (rule file, test file, parsed test file), the test file
    cut into slices that each run against only the rules they read (rulegen/slices.py), `jobs`
    runs at a time. Slices equal in every byte (the same groups of two classes that differ in
    another family's settings) run once, and their result is each one's. A file's result, its
    slices' together, comes as soon as its last slice's run ends; its seconds are its runs'
    sum. The first PromtoolUnusable wins and cancels the runs not yet started."""
    if not pending:
        return
    with tempfile.TemporaryDirectory(prefix="rulegen-slices-") as tmp:
        units: list[Path] = []  # the test files to run
        uses: list[list[tuple[int, str]]] = []  # per unit: (index into pending, what) of each
        same: dict[tuple[tuple[tuple[str, str], ...], str], int] = {}  # slice -> its unit
        for i, (_, test, doc) in enumerate(pending):
            cut = slices.slice_test(test, doc)
            if cut is None:
                units.append(test)
                uses.append([(i, "")])
                continue
            for n, part in enumerate(cut):
                what = (f"rulegen: test groups {', '.join(part.groups)} of {test}, against the "
                        "rules they read\n")
                u = same.setdefault((part.rule_files, part.test), len(units))
                if u < len(units):
                    uses[u].append((i, what))
                    continue
                folder = Path(tmp, f"{i}.{n}")
                folder.mkdir()
                for name, text in part.rule_files:
                    (folder / name).write_text(text, encoding="utf-8")
                (folder / test.name).write_text(part.test, encoding="utf-8")
                units.append(folder / test.name)
                uses.append([(i, what)])
        left = [0] * len(pending)
        for users in uses:
            for i, _ in users:
                left[i] += 1
        parts: list[list[promtool.TestResult]] = [[] for _ in pending]
        seconds = [0.0] * len(pending)
        runs = [(path, pending[users[0][0]][1]) for path, users in zip(units, uses, strict=True)]
        for u, result, took in _run_units(pt, runs, jobs):
            for i, what in uses[u]:
                rule, test, _ = pending[i]
                parts[i].append(_as_run_of(result, test, what))
                seconds[i] += took
                left[i] -= 1
                if not left[i]:
                    yield rule, test, _merged(str(test), parts[i]), seconds[i]


def _run_units(pt: promtool.Promtool, units: list[tuple[Path, Path]], jobs: int | None
               ) -> Iterator[tuple[int, promtool.TestResult, float]]:
    """(index, result, seconds) of each (test file to run, test file it was cut from) in
    `units`, as its run ends. A broken promtool's message names the file it was cut from."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(units)))

    def one(unit: tuple[Path, Path]) -> tuple[promtool.TestResult, float]:
        test, of = unit
        start = time.monotonic()
        try:
            [result] = promtool.test_rules(pt, [str(test)], jobs=1)
        except PromtoolUnusable as exc:
            if test == of:
                raise
            raise PromtoolUnusable(
                str(exc).replace(str(test), f"{of} (a slice of it: docs/classes.md)")) from None
        return result, time.monotonic() - start

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="promtool")
    try:
        futures: dict[Future[tuple[promtool.TestResult, float]], int] = {
            pool.submit(one, unit): n for n, unit in enumerate(units)}
        left = set(futures)
        while left:
            finished, left = wait(left, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=futures.__getitem__):
                result, took = fut.result()  # PromtoolUnusable: raised here
                yield futures[fut], result, took
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _as_run_of(result: promtool.TestResult, test: Path, what: str) -> promtool.TestResult:
    """A slice's result, naming the test file it was cut from where it names the slice, its
    output after a line that says `what` the slice was."""
    ran = result.file
    if ran == str(test):
        return result
    return promtool.TestResult(
        str(test), result.ok,
        tuple(replace(f, text=f.text.replace(ran, str(test))) for f in result.failures),
        what + result.output.replace(ran, str(test)))


def _merged(file: str, results: list[promtool.TestResult]) -> promtool.TestResult:
    if len(results) == 1:
        return results[0]
    return promtool.TestResult(file, all(r.ok for r in results),
                               tuple(f for r in results for f in r.failures),
                               "".join(r.output for r in results))


def _verify(out: Path, rules: list[Path], tests: list[Path],
            parsed: dict[str, Any]) -> list[Problem]:
    """promtool passes a test that names an absent alert or a missing rule file: refuse both."""
    from rulegen.verify import verify_tests

    def texts(paths: list[Path]) -> dict[str, str]:
        return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in paths}

    return [Problem(str(out), 0, 0, message, "prove/test-hygiene")
            for message in verify_tests(texts(rules), texts(tests), parsed)]

