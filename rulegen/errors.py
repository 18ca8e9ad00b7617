"""Problems, the two tiers of exceptions, and the exit-code table.

User mistakes become `Problem`s or a `UserError` subclass and are reported cleanly by the CLI;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class ExitCode(enum.IntEnum):
    """Every code the CLI can return. Documented in README.md and `rulegen --help`; each one is
    tested."""

    OK = 0
    FINDINGS = 1  # check/test/lint found problems in rules or tests
    BAD_INPUT = 2  # inventory invalid, bad usage, unreadable file
    PROMTOOL = 3  # promtool missing, broken, or timed out
    WRITE_FAILED = 4  # output could not be written; rules_out/ left as it was
    INTERNAL = 70  # a bug in rulegen (traceback printed)


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, order=True)
class Problem:
    """One finding, pointing at the file a human edits. Sorts by place, then check."""

    path: str
    line: int  # 1-based; 0 when the problem has no line
    col: int  # 1-based; 0 when the problem has no column
    message: str = field(compare=False)
    check: str = "inventory"
    severity: Severity = field(default=Severity.ERROR, compare=False)

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class UserError(Exception):
    """A mistake the user can fix; printed without traceback."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = sorted(problems or [])


class InventoryError(UserError):
    exit_code = ExitCode.BAD_INPUT


class PromtoolUnusable(UserError):
    exit_code = ExitCode.PROMTOOL


class WriteFailed(UserError):
    exit_code = ExitCode.WRITE_FAILED
