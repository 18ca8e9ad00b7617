"""Findings -> text, JSON, JUnit XML or GitHub annotations. Pure functions: no I/O here."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence

from rulegen.errors import Problem, Severity

FORMATS = ("text", "json", "junit", "github")
_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _where(p: Problem) -> str:
    where = p.path
    if p.line:
        where += f":{p.line}"
        if p.col:
            where += f":{p.col}"
    return where


def format_text(problems: Iterable[Problem], color: bool) -> str:
    """One `path:line:col: severity: message [check]` line per problem."""
    lines = []
    for p in problems:
        if color:
            lines.append(f"{_BOLD}{_where(p)}{_RESET}: {_COLORS[p.severity]}{p.severity}{_RESET}: "
                         f"{p.message} {_DIM}[{p.check}]{_RESET}")
        else:
            lines.append(f"{_where(p)}: {p.severity}: {p.message} [{p.check}]")
    return "".join(f"{line}\n" for line in lines)


def format_json(problems: Iterable[Problem]) -> str:
    rows = [{"path": p.path, "line": p.line, "column": p.col, "severity": str(p.severity),
             "check": p.check, "message": p.message} for p in problems]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def format_junit(problems: Iterable[Problem], suite_name: str,
                 checked_files: Sequence[str]) -> str:
    """A testcase per checked file (and per other file a problem names), a failure per
    problem."""
    by_file: dict[str, list[Problem]] = {path: [] for path in checked_files}
    for p in problems:
        by_file.setdefault(p.path, []).append(p)
    n_failures = sum(1 for found in by_file.values() if found)  # failed testcases, per JUnit
    root = ET.Element("testsuites", name=suite_name, tests=str(len(by_file)),
                      failures=str(n_failures), errors="0")
    suite = ET.SubElement(root, "testsuite", name=suite_name, tests=str(len(by_file)),
                          failures=str(n_failures), errors="0", skipped="0")
    for path, found in by_file.items():
        case = ET.SubElement(suite, "testcase", name=path, classname=suite_name)
        for p in found:
            failure = ET.SubElement(case, "failure", type=str(p.severity),
                                    message=f"{p.message} [{p.check}]")
            failure.text = f"{_where(p)}: {p.severity}: {p.message} [{p.check}]"
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problems: Iterable[Problem]) -> str:
    """GitHub Actions workflow commands, which the runner shows as annotations on the diff."""
    lines = []
    for p in problems:
        props = [f"file={_escape_property(p.path)}"]
        if p.line:
            props.append(f"line={p.line}")
            if p.col:
                props.append(f"col={p.col}")
        props.append(f"title={_escape_property(p.check)}")
        lines.append(f"::{_GITHUB_LEVEL[p.severity]} {','.join(props)}::{_escape_data(p.message)}")
    return "".join(f"{line}\n" for line in lines)


def pick_format(explicit: str | None, env: Mapping[str, str], isatty: bool) -> str:
    """The explicit choice wins; under GitHub Actions (whose log is never a terminal) the
    annotations; else text."""
    if explicit and explicit != "auto":
        if explicit not in FORMATS:
            raise ValueError(f"unknown format {explicit!r}; use one of: {', '.join(FORMATS)}")
        return explicit
    if env.get("GITHUB_ACTIONS") == "true" and not isatty:
        return "github"
    return "text"
