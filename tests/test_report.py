"""Report formats: pure functions of the problems."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import xmlschema

from rulegen.errors import Problem, Severity
from rulegen.promtool import TestFailure
from rulegen.prove import ServiceResult, _with_cases
from rulegen.report import (
    color_wanted,
    format_github,
    format_json,
    format_junit,
    format_summary,
    format_text,
    inventory_findings,
    pick_format,
)
from tests.conftest import ROOT

SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "junit.xsd")

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


def test_junit_testcase_per_clean_file_and_per_finding() -> None:
    xml = format_junit(PROBLEMS, "rulegen lint", ["rules/go/a.yml", "rules/c.yml"])
    assert SCHEMA.is_valid(xml)
    root = ET.fromstring(xml)
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("rulegen lint", "rules/c.yml"),  # the one file without findings
        ("promql/short-range", "rules/go/a.yml:7:9"),
        ("alerts/runbook", "rules/go/a.yml:9:5"),
        ("yaml/parse", "rules/b.yml"),
    ]
    assert [[o.tag for o in c] for c in cases] == [[], ["failure"], ["skipped"], ["failure"]]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("4", "2", "0", "1")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "0")
    warning = cases[2][0]
    assert warning.get("message") == "warning: no runbook_url [alerts/runbook]"
    assert warning.text == "rules/go/a.yml:9:5: warning: no runbook_url [alerts/runbook]"


def test_junit_warning_is_a_failure_only_at_fail_on() -> None:
    """--fail-on warning makes a warning exit 1: then it is red in the report too."""
    root = ET.fromstring(format_junit(PROBLEMS, "s", [], fail_on=Severity.WARNING))
    assert [o.tag for c in root.iter("testcase") for o in c] == ["failure"] * 3
    assert root.get("failures") == "3"
    root = ET.fromstring(format_junit([PROBLEMS[1]], "s", []))
    assert [o.tag for o in root.iter() if o.tag in ("failure", "skipped")] == ["skipped"]
    assert root.get("failures") == "0"


def _service(failures: tuple[TestFailure, ...], pairs: list[tuple[str, str]]) -> ServiceResult:
    return _with_cases(ServiceResult("out/rules/go/checkout.yml", "out/tests/go/checkout.yml",
                                     len(pairs), failures, seconds=1.5), pairs)


PAIRS = [("memory-growth/leak-linear", "memory-growth/leak-linear"),
         ("memory-growth/batch", "memory-growth/leak-sawtooth"),
         ("memory-growth/batch", "memory-growth/healthy-gaps")]


def test_junit_testcase_per_generated_case() -> None:
    alert = TestFailure("memory-growth/leak-linear", "MemoryLeakSuspected", None, "2h30m",
                        "    name: memory-growth/leak-linear,\n    alertname: ... got:[]")
    expr = TestFailure(None, None, 'ALERTS{x="y"}  # memory-growth/healthy-gaps', "5h",
                       '    expr: "ALERTS{...}  # memory-growth/healthy-gaps", time: 5h,')
    s = _service((alert, expr), PAIRS)
    promtool_finding = Problem("out/tests/go/checkout.yml", 8, 5, "x", "promtool/test")
    xml = format_junit([promtool_finding], "rulegen check", ["out/rules/go/checkout.yml"], [s])
    assert SCHEMA.is_valid(xml)
    root = ET.fromstring(xml)
    findings, service = root.findall("testsuite")
    # the promtool/test finding is the case's failure below, not a finding of its own
    assert [c.get("name") for c in findings] == ["out/rules/go/checkout.yml"]
    assert (service.get("name"), service.get("time"), service.get("file")) == (
        "go/checkout", "1.500", "out/tests/go/checkout.yml")
    cases = service.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("go.checkout", "memory-growth/leak-linear"),
        ("go.checkout", "memory-growth/leak-sawtooth"),
        ("go.checkout", "memory-growth/healthy-gaps")]
    assert [[o.tag for o in c] for c in cases] == [["failure"], [], ["failure"]]
    assert cases[0][0].text == alert.text and cases[2][0].text == expr.text
    assert "'memory-growth/batch'" in (cases[2][0].get("message") or "")
    assert (service.get("tests"), service.get("failures")) == ("3", "2")
    assert (root.get("tests"), root.get("failures")) == ("4", "2")


def test_junit_failure_naming_no_case() -> None:
    """promtool failing the whole file (a rule file that does not load) names no case: a
    `promtool test rules` testcase fails with its text, the cases are not proven (skipped)."""
    loose = TestFailure(None, None, None, None, "rules/go/checkout.yml: 7:15: parse error")
    s = _service((loose, loose), PAIRS)
    assert s.unattributed == ("rules/go/checkout.yml: 7:15: parse error",)  # said once
    xml = format_junit([], "rulegen test", [], [s])
    assert SCHEMA.is_valid(xml)
    service = ET.fromstring(xml).findall("testsuite")[1]
    outcomes = [(c.get("name"), [o.tag for o in c]) for c in service.findall("testcase")]
    assert outcomes == [(n, ["skipped"]) for _, n in PAIRS] + [
        ("promtool test rules", ["failure"])]
    assert (service.get("tests"), service.get("failures"), service.get("skipped")) == (
        "4", "1", "3")


def test_junit_escapes_markup() -> None:
    bad = [Problem("a<&>.yml", 1, 1, 'x < "y" & z', "promql/syntax")]
    xml = format_junit(bad, "s", ["a<&>.yml"])
    assert SCHEMA.is_valid(xml)
    root = ET.fromstring(xml)
    assert root.find("./testsuite/testcase/failure") is not None


def test_github_lines_exact() -> None:
    assert format_github(PROBLEMS).splitlines() == [
        "::error file=rules/go/a.yml,line=7,col=9,title=promql/short-range::"
        "deriv() over [1m] is short",
        "::warning file=rules/go/a.yml,line=9,col=5,title=alerts/runbook::no runbook_url",
        "::error file=rules/b.yml,title=yaml/parse::cannot read: 100%25, a:b%0Anext",
    ]


def test_github_without_a_file() -> None:
    """An error that is about no file (promtool unusable) is an annotation of the run."""
    p = Problem("", 0, 0, "promtool broken", "promtool")
    assert format_github([p]) == "::error title=promtool::promtool broken\n"
    root = ET.fromstring(format_junit([p], "s", []))
    assert [c.get("name") for c in root.iter("testcase")] == ["promtool"]


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


@pytest.mark.parametrize(("env", "isatty", "expected"), [
    ({}, True, True),
    ({}, False, False),
    ({"NO_COLOR": "1"}, True, False),
    ({"NO_COLOR": "0"}, True, False),  # any non-empty value
    ({"NO_COLOR": ""}, True, True),  # empty: as if unset (no-color.org)
    ({"TERM": "dumb"}, True, False),
])
def test_color_wanted(env: dict[str, str], isatty: bool, expected: bool) -> None:
    assert color_wanted(env, isatty) is expected


def test_summary_counts() -> None:
    assert format_summary(services=14, cases=463, promtool_version="2.42.0", ok=True) == (
        "14 services, 463 cases, promtool 2.42.0: passed")
    assert format_summary(services=14, classes=11, cases=392, promtool_version="2.42.0",
                          ok=True, cached=9, proved=2) == (
        "14 services in 11 classes (9 cached, 2 proved), 392 cases, promtool 2.42.0: passed")
    assert format_summary(services=1, classes=1, cases=3, ok=True) == (
        "1 service in 1 class, 3 cases: passed")
    assert format_summary(services=1, cases=1, failed=1, not_run=2, promtool_version="3.5.0",
                          findings="1 error", ok=False) == (
        "1 service, 1 case (1 failed, 2 not proven), promtool 3.5.0; 1 error: FAILED")


def test_inventory_findings_keep_places() -> None:
    yaml_error = Problem("inv.yaml", 3, 7, "YAML syntax error: x", "yaml")
    warning = Problem("inv.yaml", 9, 1, "w", severity=Severity.WARNING)
    found = inventory_findings([warning, yaml_error], "inv.yaml", "inv.yaml: invalid")
    assert [(p.path, p.line, p.col, p.message, p.check, p.severity) for p in found] == [
        ("inv.yaml", 3, 7, "YAML syntax error: x", "inventory", Severity.ERROR),
        ("inv.yaml", 9, 1, "w", "inventory", Severity.WARNING)]
    [p] = inventory_findings([], "nope.yaml", "nope.yaml: no such inventory file")
    assert (p.path, p.line, p.message, p.check, p.severity) == (
        "nope.yaml", 0, "no such inventory file", "inventory", Severity.ERROR)
