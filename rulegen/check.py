"""`rulegen check`: the one gate CI runs before an alert change merges.

In order, collecting every finding: inventory validation, drift between the committed output and
what the inventory produces now, `promtool check rules` (with its duplicate lint), the generated
promtool tests, and rulegen's own lint (also over hand-written rule files given as arguments).
promtool and the own lint run at the same time: one is a subprocess, the other Python.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from rulegen import lint, promtool
from rulegen.cache import ProofCache, check_location
from rulegen.errors import Problem, Severity
from rulegen.generate import Output, compile_inventory
from rulegen.prove import (
    Proof,
    ProveProgress,
    ServiceResult,
    case_positions,
    failure_case,
    prove,
)
from rulegen.writer import read_tree


@dataclass
class CheckRun:
    problems: list[Problem] = field(default_factory=list)
    checked_files: list[str] = field(default_factory=list)
    proof: Proof | None = None
    cache: ProofCache | None = None


def drift(output: Output, out: Path, inventory: Path, templates: Path | None,
          targets: Sequence[str] = ()) -> list[Problem]:
    """Committed files that differ from what the inventory produces now."""
    fix = f"rulegen generate {shlex.quote(str(inventory))} --out {shlex.quote(str(out))}"
    if templates:
        fix += f" --templates {shlex.quote(str(templates))}"
    fix += "".join(f" --target {t}" for t in targets)
    committed = {p: b.decode("utf-8", "replace") for p, b in read_tree(out).items()}
    problems = []
    for rel in sorted(set(committed) | set(output.files)):
        path = (out / rel).as_posix()
        if rel not in committed:
            problems.append(Problem(path, 0, 0, f"missing: the inventory produces {rel} but it "
                                    f"is not in {out}/; run `{fix}`", "drift/missing"))
        elif rel not in output.files:
            problems.append(Problem(path, 0, 0, f"extra: no service of the inventory produces "
                                    f"this file (removed without regenerating?); run `{fix}`",
                                    "drift/extra"))
        elif committed[rel] != output.files[rel]:
            line = _first_difference(committed[rel], output.files[rel])
            problems.append(Problem(path, line, 1, "stale or edited by hand: differs from what "
                                    f"the inventory produces (first at line {line}); run `{fix}`",
                                    "drift/stale"))
    return problems


def _first_difference(a: str, b: str) -> int:
    for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False), start=1):
        if x != y:
            return n
    return min(len(a.splitlines()), len(b.splitlines())) + 1


def promtool_problems(proof: Proof) -> list[Problem]:
    problems = []
    for c in proof.checks:
        for msg in c.errors:
            problems.append(Problem(c.file, 0, 0, f"promtool check rules: {msg}", "promtool/check"))
        for msg in c.lint:
            problems.append(Problem(c.file, 0, 0, f"promtool lint: {msg}", "promtool/lint"))
    for s in proof.services:
        problems += _test_problems(s)
    return problems + proof.problems


def _test_problems(s: ServiceResult) -> list[Problem]:
    """One finding per failure of a service's generated tests, at the failing case's place
    in the test file (its group's name, or its expression in a batch) when promtool named it."""
    if not s.failures:
        return []
    where: dict[str, tuple[int, int]] = {}
    if s.test_file is not None:
        try:
            where = case_positions(Path(s.test_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            where = {}
    names = {c.name for c in s.case_results}
    problems = []
    for f in s.failures:
        case = failure_case(f, names)
        line, col = where.get(case, (0, 0)) if case else (0, 0)
        what = f.alertname or f.expr or "test"
        problems.append(Problem(s.test_file or s.rules_file, line, col,
                                f"generated test {'case ' + repr(case) + ' ' if case else ''}"
                                f"failed for {what}"
                                f"{' at ' + f.eval_time if f.eval_time else ''}"
                                f"{' in group ' + repr(f.group) if f.group else ''}:\n{f.text}",
                                "promtool/test"))
    return problems


def run_check(inventory: Path, out: Path, *, templates: Path | None = None,
              extra_rule_files: list[Path] | None = None,
              promtool_path: str | None = None,
              targets: Sequence[str] = (),
              progress: ProveProgress | None = None,
              cache_dir: Path | None = None, cache_prune: bool = False) -> CheckRun:
    """`cache_dir`: the proof cache's folder (docs/cache.md), None for none; `cache_prune`
    deletes the entries this run did not use once it is complete."""
    say = progress or ProveProgress()
    run = CheckRun()
    if cache_dir is not None:
        check_location(cache_dir, out)  # UserError: exit 2, before any work
    say.stage(f"validating {inventory} and compiling its rules")
    output = compile_inventory(inventory, out, templates, targets)  # InventoryError: exit 2
    run.problems += output.warnings
    say.stage(f"comparing {out}/ with what the inventory produces")
    run.problems += drift(output, out, inventory, templates, targets)
    pt = promtool.find_promtool(promtool_path)  # PromtoolUnusable: exit 3
    if cache_dir is not None:
        run.cache = ProofCache(cache_dir, pt)
    rule_files = sorted(out.glob("rules/*/*.yml"))
    extra = list(extra_rule_files or [])
    run.checked_files = [str(p) for p in (*rule_files, *extra)]
    context = lint.inventory_context(output.loaded)
    with ThreadPoolExecutor(max_workers=1) as pool:
        linted = pool.submit(lint.lint_files, rule_files, inventory_context=context,
                             cache=run.cache)
        run.proof = prove(out, pt, progress=progress,
                          tests_expected=any(p.startswith("tests/") for p in output.files),
                          cache=run.cache)
        if run.cache is not None and cache_prune and run.proof.checks:
            run.cache.prune()
        run.problems += promtool_problems(run.proof)
        if not linted.done():
            say.stage("finishing rulegen lint")
        run.problems += linted.result()
    if extra:
        say.stage(f"linting and checking {len(extra)} more rule "
                  f"file{'s' if len(extra) != 1 else ''}")
        run.problems += lint.lint_files(extra)
        for c in promtool.check_rules(pt, [str(p) for p in extra]):
            run.problems += [Problem(c.file, 0, 0, f"promtool check rules: {m}", "promtool/check")
                             for m in c.errors]
    run.problems.sort()
    return run


def failing(problems: list[Problem], fail_on: Severity) -> bool:
    return any(p.severity >= fail_on for p in problems)
