"""The one place that turns inventory text into output text: one quoting function per context.

Inventory text reaches four contexts, each with its own reader:

| context                         | read by                           | function          |
|---------------------------------|-----------------------------------|-------------------|
| PromQL string literal           | the PromQL lexer (Go escapes)     | `promql_string`   |
| YAML double-quoted scalar       | the rule file's YAML reader       | `yaml_string`     |
| alert label value               | YAML, then Go's text/template     | `label_value`     |
| text inside an annotation       | YAML, then Go's text/template     | `annotation_text` |

Prometheus expands Go templates in alert *labels* as well as annotations, so both go through
`go_literal`. Every function makes any string a user can write come out literally (YAML cannot
carry a lone surrogate, so an inventory cannot hold one: libyaml refuses the escape).
"""

from __future__ import annotations

import re

# Characters written as they are, in both YAML and PromQL double-quoted strings: YAML's
# printable characters less the quote and backslash, the three that YAML folds as line breaks
# inside a quoted scalar (U+0085, U+2028, U+2029) and the byte-order mark, which Go's YAML
# refuses. Everything else is written as an escape both readers know.
_RAW_SET = (r"\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe"
            r"\uff00-\ufffd\U00010000-\U0010ffff")
_RAW = re.compile(f"[{_RAW_SET}]*")
_NOT_RAW = re.compile(f"[^{_RAW_SET}]")
_YAML_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
_PROMQL_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(text: str, short: dict[str, str]) -> str:
    if _RAW.fullmatch(text):  # the common case, measurably cheaper for 10,000-service runs
        return text
    return _NOT_RAW.sub(lambda m: _escaped(m.group(), short), text)


def _escaped(ch: str, short: dict[str, str]) -> str:
    if ch in short:
        return short[ch]
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal that the lexer reads back as exactly `value`."""
    return f'"{_escape(value, _PROMQL_SHORT)}"'


def yaml_string(value: object) -> str:
    """A YAML double-quoted scalar: never read as a number, bool or null, nor folded."""
    return f'"{_escape(str(value), _YAML_SHORT)}"'


def go_literal(text: str) -> str:
    """`text` as a Go template that renders to exactly `text`: only `{{` starts an action."""
    return text.replace("{{", '{{ "{{" }}')


def label_value(value: object) -> str:
    """An alert label value for a rule file: Prometheus template-expands it, then uses it."""
    return yaml_string(go_literal(str(value)))


def annotation_text(text: object) -> str:
    """Inventory text for the inside of a double-quoted annotation template."""
    return _escape(go_literal(str(text)), _YAML_SHORT)
