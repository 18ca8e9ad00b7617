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
        for rule in f.rules:
            kind = "alert" if rule.is_alert else "record"
            identity = (kind, rule.name, tuple(sorted(rule.labels.items())))
            line, _ = rule.where()
            if identity in first:
                labels = ", ".join(f'{k}="{v}"' for k, v in identity[2]) or "no labels"
                yield rule.problem((kind,), f"{kind} {rule.name} with {labels} is already defined "
                                   f"at {first[identity]}", ID, SEVERITY, key=True)
            else:
                first[identity] = f"{rule.path}:{line}"
