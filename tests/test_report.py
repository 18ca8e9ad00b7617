"""Report formats: pure functions of the problems."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from rulegen.errors import Problem, Severity
from rulegen.report import format_github, format_json, format_junit, format_text, pick_format

PROBLEMS = [
    Problem("rules/go/a.yml", 7, 9, "deriv() over [1m] is short", "promql/short-range"),
    Problem("rules/go/a.yml", 9, 5, "no runbook_url", "alerts/runbook", Severity.WARNING),
    Problem("rules/b.yml", 0, 0, "cannot read: 100%, a:b\nnext", "yaml/parse"),
]


def test_text_plain() -> None:
    assert format_text(PROBLEMS, color=False) == (
        "rules/go/a.yml:7:9: error: deriv() over [1m] is short [promql/short-range]\n"
        "rules/go/a.yml:9:5: warning: no runbook_url [alerts/runbook]\n"
        "rules/b.yml: error: cannot read: 100%, a:b\nnext [yaml/parse]\n")


def test_text_colour_only_when_asked() -> None:
    assert "\033[" not in format_text(PROBLEMS, color=False)
    coloured = format_text(PROBLEMS, color=True)
    assert "\033[31merror\033[0m" in coloured and "\033[33mwarning\033[0m" in coloured
    assert format_text([], color=True) == ""


def test_json_loads_with_every_field() -> None:
    rows = json.loads(format_json(PROBLEMS))
    assert rows[0] == {"path": "rules/go/a.yml", "line": 7, "column": 9, "severity": "error",
                       "check": "promql/short-range", "message": "deriv() over [1m] is short"}
    assert [r["severity"] for r in rows] == ["error", "warning", "error"]
    assert json.loads(format_json([])) == []


def test_junit_testcase_per_file_failure_per_problem() -> None:
    xml = format_junit(PROBLEMS, "rulegen lint", ["rules/go/a.yml", "rules/c.yml"])
    root = ET.fromstring(xml)
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["rules/go/a.yml", "rules/c.yml", "rules/b.yml"]
    assert [len(c.findall("failure")) for c in cases] == [2, 0, 1]
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    failure = cases[0].findall("failure")[1]
    assert failure.get("type") == "warning"
    assert failure.get("message") == "no runbook_url [alerts/runbook]"
    assert failure.text == "rules/go/a.yml:9:5: warning: no runbook_url [alerts/runbook]"


def test_junit_escapes_markup() -> None:
    bad = [Problem("a<&>.yml", 1, 1, 'x < "y" & z', "promql/syntax")]
    root = ET.fromstring(format_junit(bad, "s", ["a<&>.yml"]))
    assert root.find("./testsuite/testcase/failure") is not None


def test_github_lines_exact() -> None:
    assert format_github(PROBLEMS).splitlines() == [
        "::error file=rules/go/a.yml,line=7,col=9,title=promql/short-range::"
        "deriv() over [1m] is short",
        "::warning file=rules/go/a.yml,line=9,col=5,title=alerts/runbook::no runbook_url",
        "::error file=rules/b.yml,title=yaml/parse::cannot read: 100%25, a:b%0Anext",
    ]


def test_github_escapes_properties() -> None:
    p = Problem("dir,x/a:b%.yml", 1, 2, "m\r", "c", Severity.INFO)
    assert format_github([p]) == "::notice file=dir%2Cx/a%3Ab%25.yml,line=1,col=2,title=c::m%0D\n"


@pytest.mark.parametrize(("explicit", "env", "isatty", "expected"), [
    ("json", {"GITHUB_ACTIONS": "true"}, False, "json"),
    ("junit", {}, True, "junit"),
    (None, {"GITHUB_ACTIONS": "true"}, False, "github"),
    ("auto", {"GITHUB_ACTIONS": "true"}, False, "github"),
    (None, {"GITHUB_ACTIONS": "true"}, True, "text"),
    (None, {"GITHUB_ACTIONS": "false"}, False, "text"),
    (None, {}, True, "text"),
    (None, {}, False, "text"),
])
def test_pick_format(explicit: str | None, env: dict[str, str], isatty: bool,
                     expected: str) -> None:
    assert pick_format(explicit, env, isatty) == expected


def test_pick_format_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        pick_format("xml", {}, False)
