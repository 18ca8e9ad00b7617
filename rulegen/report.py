"""Findings -> text, JSON, JUnit XML or GitHub annotations. Pure functions: no I/O here."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from rulegen.errors import Problem, Severity

if TYPE_CHECKING:
    from rulegen.prove import ServiceResult

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


def format_junit(problems: Iterable[Problem], suite_name: str, checked_files: Sequence[str],
                 services: Sequence[ServiceResult] = (),
                 fail_on: Severity = Severity.ERROR) -> str:
    """JUnit XML as Jenkins and GitLab read it (tests/junit.xsd).

    One testsuite of findings: a testcase per checked file without findings and one per
    finding, a `<failure>` when its severity is at least `fail_on` (what makes the command exit
    1), else `<skipped>` with the text (a warning never turns a passing run red). Then a
    testsuite per service whose generated tests ran: a testcase per generated case (a test group,
    or a case inside a `<family>/batch` group), `<failure>` with promtool's text when it failed,
    `<skipped>` when promtool failed the file without naming it; promtool's text that names no
    case fails a `promtool test rules` testcase. With `services`, the `promtool/test` findings
    are in those testcases and not repeated among the findings."""
    found = [p for p in problems if not (services and p.check == "promtool/test")]
    root = ET.Element("testsuites", name=suite_name)
    suite = ET.SubElement(root, "testsuite", name=f"{suite_name}: findings")
    with_findings = {p.path for p in found}
    for path in checked_files:
        if path not in with_findings:
            ET.SubElement(suite, "testcase", name=path, classname=suite_name)
    for p in found:
        case = ET.SubElement(suite, "testcase", name=_where(p) or p.check, classname=p.check)
        line = f"{_where(p)}: {p.severity}: {p.message} [{p.check}]"
        tag = "failure" if p.severity >= fail_on else "skipped"
        ET.SubElement(case, tag, type=str(p.severity),
                      message=f"{p.severity}: {p.message} [{p.check}]").text = line
    for s in services:
        if s.test_file is None and s.ok:
            continue  # output.tests is false: promtool checked its rules (the findings suite)
        _service_suite(root, s)
    _count(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _service_suite(root: ET.Element, s: ServiceResult) -> None:
    suite = ET.SubElement(root, "testsuite", name=f"{s.runtime}/{s.service}",
                          time=f"{s.seconds:.3f}")
    if s.test_file:
        suite.set("file", s.test_file)
    if s.members:  # the proof class: the services this suite's cases prove (tests/classes.yml)
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="services", value=" ".join(s.members))
    classname = f"{s.runtime}.{s.service}"
    for c in s.case_results:
        case = ET.SubElement(suite, "testcase", name=c.name, classname=classname)
        if c.failures:
            n = len(c.failures)
            ET.SubElement(case, "failure", type="promtool test rules",
                          message=f"{n} failing assertion{'s' if n != 1 else ''} in test group "
                                  f"{c.group!r} of {s.test_file}").text = "\n\n".join(c.failures)
        elif not c.proven:
            ET.SubElement(case, "skipped", message="not proven: promtool failed "
                          f"{s.test_file} as a whole without naming this case")
    if s.unattributed:
        case = ET.SubElement(suite, "testcase", name="promtool test rules", classname=classname)
        ET.SubElement(case, "failure", type="promtool test rules",
                      message=f"promtool failed {s.test_file or s.rules_file}"
                      ).text = "\n\n".join(s.unattributed)


def _count(root: ET.Element) -> None:
    """tests, failures, errors and skipped of each testsuite from its testcases; the sums on
    testsuites (which carries no skipped count in Jenkins' schema)."""
    totals = dict.fromkeys(("tests", "failures", "errors"), 0)
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counts = {"tests": len(cases),
                  "failures": sum(c.find("failure") is not None for c in cases),
                  "errors": sum(c.find("error") is not None for c in cases),
                  "skipped": sum(c.find("skipped") is not None and c.find("failure") is None
                                 for c in cases)}
        for k, v in counts.items():
            suite.set(k, str(v))
            if k in totals:
                totals[k] += v
    for k, v in totals.items():
        root.set(k, str(v))


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(problems: Iterable[Problem]) -> str:
    """GitHub Actions workflow commands, which the runner shows as annotations on the diff."""
    lines = []
    for p in problems:
        props = [f"file={_escape_property(p.path)}"] if p.path else []
        if p.path and p.line:
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


def color_wanted(env: Mapping[str, str], isatty: bool) -> bool:
    """Color only on a terminal, never with NO_COLOR set to anything but the empty string
    (https://no-color.org) nor on TERM=dumb."""
    return isatty and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def inventory_findings(problems: Sequence[Problem], inventory: str, message: str
                       ) -> list[Problem]:
    """An invalid inventory's problems as findings of the check `inventory` (YAML errors too),
    each at its place; a problem without one (the file does not exist) from `message`."""
    if not problems:
        text = message.removeprefix(f"{inventory}: ")
        return [Problem(inventory, 0, 0, text, "inventory")]
    return sorted(Problem(p.path, p.line, p.col, p.message, "inventory", p.severity)
                  for p in problems)


def format_summary(*, services: int, cases: int, failed: int = 0, not_run: int = 0,
                   promtool_version: str | None = None, findings: str | None = None,
                   ok: bool, cached: int | None = None, proved: int = 0,
                   classes: int = 0) -> str:
    """`14 services in 11 classes, 463 cases, promtool 2.42.0: passed`;
    `3 services in 3 classes, 100 cases (2 failed), promtool 2.42.0; 1 error: FAILED`; with the
    proof cache on (`cached` not None; counted in classes),
    `14 services in 11 classes (9 cached, 2 proved), 463 cases, ...`. No classes: no tests ran."""
    counted = [f"{failed} failed"] if failed else []
    if not_run:
        counted.append(f"{not_run} not proven")
    how = f" ({cached} cached, {proved} proved)" if cached is not None else ""
    within = f" in {classes} class{'es' if classes != 1 else ''}" if classes else ""
    parts = [f"{services} service{'s' if services != 1 else ''}{within}{how}",
             f"{cases} case{'s' if cases != 1 else ''}"
             + (f" ({', '.join(counted)})" if counted else "")]
    if promtool_version:
        parts.append(f"promtool {promtool_version}")
    text = ", ".join(parts)
    if findings:
        text += f"; {findings}"
    return f"{text}: {'passed' if ok else 'FAILED'}"
