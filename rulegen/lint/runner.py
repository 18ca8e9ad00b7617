"""Run the registered checks over rule files: load -> check each rule -> check all files."""

from __future__ import annotations

import os
from collections.abc import Iterable

from rulegen.errors import Problem
from rulegen.lint.context import InventoryContext
from rulegen.lint.files import LintedFile, read_rule_file
from rulegen.lint.registry import FILES_CHECKS, RULE_CHECKS


def run(files: list[LintedFile], inventory: InventoryContext | None) -> list[Problem]:
    problems: list[Problem] = []
    rule_checks = [c for c in RULE_CHECKS.values() if inventory or not c.NEEDS_INVENTORY]
    for f in files:
        for rule in f.rules:
            for check in rule_checks:
                problems.extend(check.check(rule))
    for files_check in FILES_CHECKS.values():
        if inventory or not files_check.NEEDS_INVENTORY:
            problems.extend(files_check.check_files(files))
    return sorted(problems)


def lint_files(paths: Iterable[str | os.PathLike[str]], *,
               inventory_context: InventoryContext | None = None,
               scrape_interval: int = 60) -> list[Problem]:
    """Every problem in the rule files at `paths`, sorted. `scrape_interval` (seconds) applies
    to rules whose service the inventory context does not name."""
    files = [read_rule_file(str(p), inventory=inventory_context, scrape_s=scrape_interval)
             for p in paths]
    return run(files, inventory_context)


def lint_text(text: str, path: str = "<text>", *,
              inventory_context: InventoryContext | None = None,
              scrape_interval: int = 60) -> list[Problem]:
    """Lint rule-file text that is not on disk (stdin, tests)."""
    files = [read_rule_file(path, text, inventory=inventory_context, scrape_s=scrape_interval)]
    return run(files, inventory_context)
