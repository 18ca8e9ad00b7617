"""Properties of rulegen/text.py: every quoting function gives any text back exactly, read by
the reader of its context.

1. yaml_string: PyYAML (pure and libyaml) reads back the text, on one line;
2. promql_string: the PromQL parser (promql_parser) reads back the text, as a label matcher
   value and as a string argument;
3. go_literal / label_value / annotation_text: the Go-template emulation of the test generator
   (rulegen.gotemplate.expand) renders the text back, alone and inside the annotation templates;
4. end to end, the real promtool: one alert per text whose expr selects a series by
   promql_string(text), whose label value is label_value(text) and whose annotation holds
   annotation_text(text); the promtool test expects the text (yaml_string) as the series
   label, the alert label and inside the expanded annotation. Many texts per promtool run.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import promql_parser
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rulegen.gotemplate import expand
from rulegen.text import annotation_text, go_literal, label_value, promql_string, yaml_string
from tests.conftest import ROOT

# Characters and strings that each reader treats specially.
NASTY_CHARS = ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1b",
               "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "\u2028", "\u2029", "\ufeff",
               "\ufffe", "\uffff", "\U0010ffff", "\U0001f600", "\u0301", "\u202e", "\u200d",
               '"', "'", "\\", "{", "}", "$", "|", "-", "#", ":", "`", "%", "&", "*", "!",
               " ", "é"]
NASTY = ["{{ $value }}", "{{ .Labels }}", "{{ $labels.x }}", "x {{ y", "}}", "{{{", "{{",
         "{{- . -}}", "{{/* c */}}", '{{ "{{" }}', "\r", "\r\n", "\x01", "\x7f", "\x85",
         "\u2028", "\ufeff", '"', "\\", "\\u0000", "\\n", "x" * 300, "\U0001f600",
         "\U0001f469\u200d\U0001f4bb", "$1", "${1}", "- x", ": ", "&a", "*a", "!!str", "~",
         "null", "yes", "010", " leading", "trailing ", "%", "#", "'", "`", "{", "}",
         "{{ $value | humanize }}", "{{ template \"x\" }}", "é", "\x00", "\t", "\n"]

texts = st.one_of(
    st.text(),  # any code point but surrogates (an inventory cannot hold one)
    st.text(st.sampled_from(NASTY_CHARS)),
    st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=3)), max_size=6).map("".join),
)
PURE = settings(max_examples=500, deadline=None)

_LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


# --- 1. yaml_string ---------------------------------------------------------------------------


@PURE
@given(texts)
@example("\ufeff")
@example("\x85\u2028\u2029")
@example("")
def test_yaml_string_reads_back(s: str) -> None:
    q = yaml_string(s)
    assert not any(c in q for c in "\n\r\x85\u2028\u2029"), q  # one line, nothing to fold
    assert q.startswith('"') and q.endswith('"')
    for loader in _LOADERS:
        assert yaml.load(q, Loader=loader) == s, loader
        assert yaml.load(f"k: {q}\n", Loader=loader) == {"k": s}, loader
        assert yaml.load(f"- [{q}, {q}]\n", Loader=loader) == [[s, s]], loader


@PURE
@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.none()))
def test_yaml_string_of_a_non_text_value_is_text(v: object) -> None:
    assert yaml.safe_load(yaml_string(v)) == str(v)


# --- 2. promql_string -------------------------------------------------------------------------


@PURE
@given(texts)
@example("\x00")
@example("\u2028")
@example("`")
def test_promql_string_reads_back(s: str) -> None:
    q = promql_string(s)
    sel = promql_parser.parse(f"x{{a={q}}}")
    assert isinstance(sel, promql_parser.VectorSelector)
    [m] = sel.matchers.matchers
    assert (m.name, m.value) == ("a", s)
    sel = promql_parser.parse(f'{{__name__="x", a!={q}}}')
    assert isinstance(sel, promql_parser.VectorSelector)
    assert [m.value for m in sel.matchers.matchers] == ["x", s]
    lit = promql_parser.parse(q)
    assert isinstance(lit, promql_parser.StringLiteral) and lit.val == s
    call = promql_parser.parse(f'label_replace(x, "dst", {q}, "src", "(.*)")')
    assert isinstance(call, promql_parser.Call)
    arg = call.args[2]
    assert isinstance(arg, promql_parser.StringLiteral) and arg.val == s


# --- 3. Go templates (the test generator's emulation) -----------------------------------------


@PURE
@given(texts, st.floats(allow_nan=False), st.dictionaries(st.sampled_from(["x", "y"]),
                                                          st.text(max_size=4)))
def test_go_literal_renders_back(s: str, value: float, labels: dict[str, str]) -> None:
    assert expand(go_literal(s), value, labels) == s


@PURE
@given(texts)
def test_label_value_is_yaml_then_template(s: str) -> None:
    """What Prometheus does with a rule file's label value: read the YAML, expand it."""
    assert expand(yaml.safe_load(label_value(s)), 1.0, {}) == s


@PURE
@given(texts, st.floats(0, 1e12))
def test_annotation_text_inside_an_annotation_template(s: str, value: float) -> None:
    """The way the alert templates use it: inventory text between template text and
    Prometheus's own actions, in a double-quoted YAML scalar."""
    line = f'summary: "Leak in {annotation_text(s)}: {{{{ $value | humanize1024 }}}}B/h"'
    got = expand(yaml.safe_load(line)["summary"], value, {})
    assert got == f"Leak in {s}: {expand('{{ $value | humanize1024 }}', value, {})}B/h"


def test_the_emulation_is_not_vacuous() -> None:
    """Unquoted text with an action in it does not come back: the properties above can fail."""
    assert expand("a {{ $value }}", 2.0, {}) == "a 2"
    assert expand(yaml.safe_load('"a\\u0041"'), 0, {}) == "aA"
    assert expand("{{ $value }}x", 0.5, {}) != "{{ $value }}x"
    assert yaml.safe_load('"a\\\\"') != "a\\\\"


# --- 4. the real promtool -----------------------------------------------------------------------


def find_promtool() -> str | None:
    for c in (os.environ.get("PROMTOOL"), str(ROOT / ".tools" / "bin" / "promtool")):
        if c and os.access(c, os.X_OK):
            return c
    return None


PROMTOOL = find_promtool()
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not found: $PROMTOOL is unset or not executable and "
    ".tools/bin/promtool does not exist (run `make bootstrap`)")


def rule_file(strings: list[str], label_of: Callable[[str], str] = label_value) -> str:
    """One alert per text: the series is selected by the text, the alert label `l` and the
    annotation carry it (as the rule templates write them)."""
    out = ["groups:", "  - name: text", "    rules:"]
    for i, s in enumerate(strings):
        expr = f'text_series{{i="{i}", a={promql_string(s)}}}'
        out += [f"      - alert: T{i}",
                f"        expr: {yaml_string(expr)}",
                "        labels:",
                f"          l: {label_of(s)}",
                "        annotations:",
                f'          a: "<{annotation_text(s)}> {{{{ $value }}}}"']
    return "\n".join(out) + "\n"


def promtool_test_file(strings: list[str]) -> str:
    out = ["rule_files: [rules.yml]", "evaluation_interval: 1m", "tests:",
           "  - interval: 1m", "    input_series:"]
    for i, s in enumerate(strings):
        series = f'text_series{{i="{i}", a={promql_string(s)}}}'
        out += [f"      - series: {yaml_string(series)}", '        values: "1x3"']
    out.append("    alert_rule_test:")
    for i, s in enumerate(strings):
        out += ["      - eval_time: 1m",
                f"        alertname: T{i}",
                "        exp_alerts:",
                "          - exp_labels:",
                f'              i: "{i}"',
                f"              a: {yaml_string(s)}",
                f"              l: {yaml_string(s)}",
                "            exp_annotations:",
                f"              a: {yaml_string(f'<{s}> 1')}"]
    return "\n".join(out) + "\n"


def promtool_fails(strings: list[str], label_of: Callable[[str], str] = label_value
                   ) -> list[str]:
    """The texts promtool does not give back (an error if it cannot read the files)."""
    assert PROMTOOL is not None
    with tempfile.TemporaryDirectory(prefix="rulegen-text-") as d:
        Path(d, "rules.yml").write_text(rule_file(strings, label_of), encoding="utf-8")
        Path(d, "test.yml").write_text(promtool_test_file(strings), encoding="utf-8")
        p = subprocess.run([PROMTOOL, "test", "rules", "test.yml"], cwd=d, capture_output=True,
                           text=True, timeout=120)
    output = p.stdout + p.stderr
    if p.returncode == 0:
        assert "SUCCESS" in output, output
        return []
    failed = {int(m) for m in re.findall(r"alertname: T(\d+),", output)}
    assert failed, f"promtool failed without naming an alert:\n{output[:3000]}"
    return [strings[i] for i in sorted(failed)]


# The empty text is left out: Prometheus drops a label whose value is empty, so "" cannot come
# back as a label value whatever the quoting.
nonempty = texts.filter(bool)


@pytest.mark.promtool
@needs_promtool
@settings(max_examples=int(os.environ.get("RULEGEN_PROPERTY_EXAMPLES", "10")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(nonempty, min_size=50, max_size=50))
def test_promtool_reads_back_any_text(strings: list[str]) -> None:
    assert promtool_fails(strings) == []


@pytest.mark.promtool
@needs_promtool
def test_promtool_reads_back_nasty_texts() -> None:
    corpus = [*NASTY, *NASTY_CHARS, "".join(NASTY_CHARS), "".join(NASTY)]
    assert promtool_fails(corpus) == []


@pytest.mark.promtool
@needs_promtool
def test_promtool_harness_is_not_vacuous() -> None:
    """A label value quoted for YAML but not for Go templates comes back expanded: promtool
    names exactly those alerts."""
    strings = ["ok", "{{ $value }}", "a {{ 1 }} b", "}} {", "{x}"]
    assert promtool_fails(strings, label_of=yaml_string) == ["{{ $value }}", "a {{ 1 }} b"]
    assert promtool_fails(strings) == []
