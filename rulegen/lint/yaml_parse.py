"""yaml/parse: the file cannot be read as a rule file (YAML syntax, duplicate keys, shape)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rulegen.errors import Problem, Severity
from rulegen.lint.files import CHECK, LintedFile

ID = CHECK
DESCRIPTION = "unreadable file, invalid YAML, duplicate keys, or not the shape of a rule file"
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False


def check_files(files: Sequence[LintedFile]) -> Iterator[Problem]:
    # The loader finds these while reading; this check only gives them their severity.
    for f in files:
        for p in f.problems:
            yield Problem(p.path, p.line, p.col, p.message, ID, SEVERITY)
