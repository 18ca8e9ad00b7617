"""The Go text/template that Prometheus expands in alert annotations and labels, as far as the
generated tests need it: the text an annotation gets for a known `$value`.

`expand` covers the actions rulegen's alert templates use (`$value`, optionally piped to
`humanize`, `humanize1024` or `humanizePercentage`; `$labels.<name>`; the literal `"{{"` that
escapes inventory text); anything else raises `UnsupportedTemplate`, and the case that needed
the text asserts labels only. `stable` says whether a value prints the same on Prometheus 2.x
and 3.x, whose `$value` can differ by a few ULPs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from rulegen.errors import UserError


class UnsupportedTemplate(UserError):
    """An annotation whose text for a value the generator cannot work out exactly (a template
    function it does not know, or a value on a rounding edge): its case asserts labels only."""


def _g4(v: float) -> str:
    """Go's `%.4g` (Python's matches it for finite values)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def humanize(v: float) -> str:
    if v == 0 or not math.isfinite(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
    else:
        for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
            if abs(v) >= 1:
                break
            prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize1024(v: float) -> str:
    if abs(v) <= 1 or not math.isfinite(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _g4(v) + prefix


def humanize_percentage(v: float) -> str:
    return _g4(v * 100) + "%"


def go_float(v: float) -> str:
    """`{{ $value }}`: Go's %v of a float64 (shortest repr, exponent from 1e21)."""
    if v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    text = repr(v)
    if "e" in text:
        mant, exp = text.split("e")
        return f"{mant}e{'-' if exp.startswith('-') else '+'}{abs(int(exp)):02d}"
    return text


_FUNCS = {"humanize": humanize, "humanize1024": humanize1024,
          "humanizePercentage": humanize_percentage}
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
VALUE_ACTION = re.compile(r"\{\{[^}]*\$value[^}]*\}\}")  # an action that prints `$value`


def expand(text: str, value: float, labels: Mapping[str, str]) -> str:
    """A Prometheus annotation template, for the subset the alert templates use:
    `$value` (optionally piped to humanize, humanize1024 or humanizePercentage),
    `$labels.<name>` and the literal `"{{"` that escapes inventory text."""

    def one(m: re.Match[str]) -> str:
        action = m[1]
        if action == '"{{"':
            return "{{"
        if action.startswith("$labels."):
            return labels.get(action[len("$labels."):], "")
        parts = [p.strip() for p in action.split("|")]
        if parts[0] != "$value" or len(parts) > 2 or (len(parts) == 2 and parts[1] not in _FUNCS):
            raise UnsupportedTemplate(f"the test generator cannot evaluate the template action "
                               f"{{{{ {action} }}}} in annotation {text!r}")
        return _FUNCS[parts[1]](value) if len(parts) == 2 else go_float(value)

    return _ACTION.sub(one, text)


def stable(fmt: str, value: float) -> bool:
    """True if `value`, off by far more than Prometheus 2.x and 3.x ever differ (a few ULPs
    from left-open ranges), still prints the same: the case is safe to pin exactly."""
    return len({expand(fmt, value * (1 + d), {}) for d in (-1e-9, 0.0, 1e-9)}) == 1
