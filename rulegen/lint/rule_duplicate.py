"""rule/duplicate: two rules with the same name and labels, in any of the linted files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rulegen.errors import Problem, Severity
from rulegen.lint.files import LintedFile

ID = "rule/duplicate"
DESCRIPTION = ("the same alert or record name with the same labels twice, across all linted "
               "files (their alerts or series collide)")
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False


def check_files(files: Sequence[LintedFile]) -> Iterator[Problem]:
    first: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}
    for f in files:
        for rule in f.keys:  # what a cached file keeps too
            if rule.identity in first:
                labels = ", ".join(f'{k}="{v}"' for k, v in rule.labels) or "no labels"
                yield Problem(f.path, rule.key_line, rule.key_col,
                              f"{rule.kind} {rule.name} with {labels} is already defined at "
                              f"{first[rule.identity]}{rule.suffix}", ID, SEVERITY)
            else:
                first[rule.identity] = f"{f.path}:{rule.line}"
