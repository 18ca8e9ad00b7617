"""Prove an output tree: promtool check rules, then the generated promtool tests.

Returns findings as values; the CLI prints them. promtool's own failure text is kept verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rulegen import promtool
from rulegen.errors import Problem


@dataclass(frozen=True)
class ServiceResult:
    rules_file: str
    test_file: str | None
    cases: int
    failures: tuple[promtool.TestFailure, ...] = ()
    output: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Proof:
    tool: promtool.Promtool
    checks: list[promtool.CheckResult] = field(default_factory=list)
    services: list[ServiceResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (all(c.ok and not c.lint for c in self.checks)
                and all(s.ok for s in self.services) and not self.problems)

    @property
    def cases(self) -> int:
        return sum(s.cases for s in self.services)


def _count_cases(doc: Any) -> int:
    """Cases of a parsed test file (0 for one that did not parse: `_verify` reports it)."""
    tests = doc.get("tests") if isinstance(doc, dict) else None
    return sum(len(t.get("alert_rule_test") or []) + len(t.get("promql_expr_test") or [])
               for t in tests or [] if isinstance(t, dict))


def prove(out: Path, pt: promtool.Promtool, *, run_tests: bool = True,
          tests_expected: bool = True,
          progress: Callable[[int, int], None] | None = None) -> Proof:
    """`tests_expected=False` (the inventory says `output: {tests: false}`): a rule file
    without a test file is checked by promtool only, not reported as untested."""
    rules = sorted(out.glob("rules/*/*.yml"))
    tests = sorted(out.glob("tests/*/*.yml"))
    proof = Proof(pt)
    if not rules:
        proof.problems.append(Problem(str(out), 0, 0, "no rule files found; run rulegen "
                                      "generate first", "prove/empty"))
        return proof
    proof.checks = promtool.check_rules_batch(pt, [str(p) for p in rules], lint="duplicate-rules")
    by_stem = {p.relative_to(out / "tests").as_posix(): p for p in tests}
    parsed: dict[str, Any] = {}
    if tests:  # the rule files are read for the tests' sake only
        proof.problems += _verify(out, rules, tests, parsed)
    if not run_tests:
        return proof
    results = {r.file: r for r in promtool.test_rules(pt, [str(p) for p in tests],
                                                       progress=progress)} if tests else {}
    for rule in rules:
        rel = rule.relative_to(out / "rules").as_posix()
        test = by_stem.get(rel)
        if test is None:
            missing = promtool.TestFailure(None, None, None, None,
                                           f"{rule}: no generated test file tests/{rel}")
            proof.services.append(ServiceResult(str(rule), None, 0,
                                                (missing,) if tests_expected else ()))
            continue
        r = results[str(test)]
        cases = _count_cases(parsed.get(test.relative_to(out).as_posix()))
        proof.services.append(ServiceResult(str(rule), str(test), cases,
                                            r.failures if not r.ok else (), r.output))
    return proof


def _verify(out: Path, rules: list[Path], tests: list[Path],
            parsed: dict[str, Any]) -> list[Problem]:
    """promtool passes a test that names an absent alert or a missing rule file: refuse both."""
    from rulegen.testgen import verify_tests

    def texts(paths: list[Path]) -> dict[str, str]:
        return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8") for p in paths}

    return [Problem(str(out), 0, 0, message, "prove/test-hygiene")
            for message in verify_tests(texts(rules), texts(tests), parsed)]
