"""The contract every check module meets; mypy checks each module against it in registry.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.files import LintedFile


class RuleCheck(Protocol):
    """Looks at one rule at a time."""

    ID: str
    DESCRIPTION: str  # one line; docs/lint.md has a section per ID
    SEVERITY: Severity
    NEEDS_INVENTORY: bool  # skipped when linting without an inventory context

    def check(self, rule: RuleContext) -> Iterable[Problem]: ...


class FilesCheck(Protocol):
    """Looks at every linted file at once (duplicates across files, load problems)."""

    ID: str
    DESCRIPTION: str
    SEVERITY: Severity
    NEEDS_INVENTORY: bool

    def check_files(self, files: Sequence[LintedFile]) -> Iterable[Problem]: ...
