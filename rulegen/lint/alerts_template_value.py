"""alerts/template-value: a rate, slope or ratio printed raw as `{{ $value }}`."""

from __future__ import annotations

import re
from collections.abc import Iterator

import promql_parser as pp

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.query import RATE_FUNCS, SLOPE_FUNCS, op

ID = "alerts/template-value"
DESCRIPTION = ("an annotation prints $value without humanize*/printf although the expr is a "
               "rate, slope or ratio")
SEVERITY = Severity.WARNING
NEEDS_INVENTORY = False

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_VALUE = re.compile(r"\$value\b|(?<![\w$])\.Value\b")
_FORMATS = re.compile(r"\b(humanize\w*|printf)\b")
_NOT_PRINTED = re.compile(r"^\s*(if|else|with|range|end|define|template|block)\b|:?=")


def fractional(rule: RuleContext) -> bool:
    """Whether the value is a per-second rate, a slope or a ratio: long floats when raw."""
    if rule.calls(RATE_FUNCS | SLOPE_FUNCS | {"delta"}):
        return True
    return any(isinstance(n, pp.BinaryExpr) and op(n) == "/" for n in rule.nodes)


def raw_values(text: str) -> Iterator[str]:
    for m in _ACTION.finditer(text):
        action = m.group(1)
        if _VALUE.search(action) and not _FORMATS.search(action) and not _NOT_PRINTED.search(
                action):
            yield m.group(0)


def check(rule: RuleContext) -> Iterator[Problem]:
    if not rule.is_alert or rule.expr is None or not fractional(rule):
        return
    for name, text in rule.annotations.items():
        for action in raw_values(text):
            yield rule.problem(
                ("annotations", name), f"annotation {name} prints {action} raw; the value is a "
                "rate, slope or ratio and shows as e.g. 0.016666666666666666: use "
                "humanize, humanize1024, humanizePercentage or printf", ID, SEVERITY)
