"""Human units in the inventory: sizes (512Mi), durations (2h) and rates (10MiB/h)."""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12, "p": 10**15, "pb": 10**15,
    "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
    "ti": 2**40, "tib": 2**40, "pi": 2**50, "pib": 2**50,
}
# Kubernetes writes milli as a lower-case `m` (`512m` is half a byte there), so a lone `m` is
# refused rather than guessed; `M`/`MB` are SI megabytes, `Mi`/`MiB` mebibytes.
_AMBIGUOUS_UNITS = {"m"}
# Bounds that keep every number meaningful and the work of compiling and proving it bounded.
MAX_SIZE = 2**50  # 1 PiB: far above any memory limit
MAX_DURATION = 30 * 86400  # 30d: longer than Prometheus's default retention (15d)
MAX_DIGITS = 18
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
# Prometheus duration syntax, restricted to what 2.42 and 3.x both accept.
_DUR_RE = re.compile(r"^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m(?!s))?(?:([0-9]+)s)?$")
_DUR_UNITS = (86400, 3600, 60, 1)
_PER = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}

SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*([KMGTP]i?B?|[kmgtp]i?b?|B|b)?$"
DURATION_PATTERN = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
RATE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*[A-Za-z]*\s*/\s*(s|sec|m|min|h|d)$"
_SIZES = "512Mi, 1Gi, 300M or a number of bytes"
_RATES = "10MiB/h, 1Mi/min or 50/h"
_COUNTS = "100/h or 5/min"


def shown(value: object) -> str:
    """A value as YAML wrote it, for messages: text quoted, `.nan` and `.inf` as YAML spells
    them, true/false in lower case."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else "-.inf" if value < 0 else ".inf"
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _bounded(n: float | Fraction, limit: float, what: str, text: object, example: str,
             most: str | None = None) -> float | Fraction:
    if not math.isfinite(n):
        raise ValueError(f"{shown(text)} is not a finite number; give a {what} such as {example}")
    if n < 0:
        raise ValueError(f"{shown(text)}: a {what} cannot be negative")
    if n > limit:
        more = "longer than the longest" if what == "duration" else "larger than the largest"
        raise ValueError(f"{shown(text)} is {more} {what} rulegen accepts "
                         f"({most or format_size(limit)})")
    return n


def _bytes(amount: str, text: str, what: str, example: str, per: str = "") -> Fraction:
    """The bytes `amount` ('512Mi') stands for, exactly; messages quote `text`, the whole value
    (`per` is its '/h' part, for the suggestions)."""
    if text.strip().startswith("-"):
        raise ValueError(f"{text!r}: a {what} cannot be negative")
    m = _SIZE_RE.match(amount)
    if m and m.group(2) in _AMBIGUOUS_UNITS:
        n = m.group(1)
        raise ValueError(f"{text!r} is ambiguous: `m` is milli in Kubernetes; write {n}Mi{per} "
                         f"(mebibytes, 2^20) or {n}M{per} (megabytes, 10^6)")
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a {what}; use e.g. {example}")
    if len(m.group(1)) > MAX_DIGITS:
        return Fraction(MAX_SIZE + 1)
    return Fraction(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def parse_size(text: str | int | float) -> int:
    """`512Mi` -> 536870912. Plain numbers are bytes. A whole number of bytes, at most
    MAX_SIZE."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"expected a size such as 512Mi or 1Gi, not {shown(text)}")
    n = _bounded(text if isinstance(text, int | float) else _bytes(text, text, "size", _SIZES),
                 MAX_SIZE, "size", text, "512Mi")
    if n != int(n):
        raise ValueError(f"{shown(text)} is not a whole number of bytes")
    return int(n)


def parse_duration(text: str | int) -> int:
    """`1h30m` -> 5400 seconds. Plain integers are seconds. At most MAX_DURATION."""
    if isinstance(text, float):  # 1.5, .inf: seconds are whole
        raise ValueError(f"{shown(text)} is not a duration; use e.g. 30s, 5m, 2h, 1d or 1h30m")
    if isinstance(text, bool) or not isinstance(text, str | int):
        raise ValueError(f"expected a duration such as 30m or 2h, not {shown(text)}")
    if isinstance(text, int):
        seconds = text
    else:
        if text.strip().startswith("-"):
            raise ValueError(f"{text!r}: a duration cannot be negative")
        m = _DUR_RE.match(text.strip())
        if not m or not any(m.groups()):
            raise ValueError(f"{text!r} is not a duration; use e.g. 30s, 5m, 2h, 1d or 1h30m")
        if any(g and len(g) > MAX_DIGITS for g in m.groups()):
            seconds = MAX_DURATION + 1
        else:
            seconds = sum(int(g) * u for g, u in zip(m.groups(), _DUR_UNITS, strict=True) if g)
    return int(_bounded(seconds, MAX_DURATION, "duration", text, "30m",
                        format_duration(MAX_DURATION)))


@functools.lru_cache(maxsize=1024)
def format_duration(seconds: int) -> str:
    """Seconds -> the shortest Prometheus duration (5400 -> '1h30m'). 0 -> '0s'."""
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def parse_rate(text: str | int | float, *, count: bool = False) -> float:
    """`10MiB/h` -> bytes per hour; `100/h` -> per hour. Plain numbers are per hour."""
    example = _COUNTS if count else _RATES
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"expected a rate such as {example.split(' or ')[-1]}, not "
                         f"{shown(text)}")
    if isinstance(text, int | float):
        return float(_bounded(text, MAX_SIZE, "rate", text, example.split(",")[0]))
    amount, sep, per = text.partition("/")
    unit = per.strip().lower()
    if not sep or unit not in _PER:
        if text.strip().startswith("-"):
            raise ValueError(f"{text!r}: a rate cannot be negative")
        raise ValueError(f"{text!r} is not a rate; use e.g. {example}")
    n = _bounded(_bytes(amount, text, "rate", example, "/" + per.strip()), MAX_SIZE, "rate", text,
                 example, f"{format_size(MAX_SIZE)}/{per.strip()}")
    return float(n) * 3600 / _PER[unit]


def parse_count_rate(text: str | int | float) -> float:
    """`100/h` -> 100 per hour: a rate of things counted (goroutines, threads, handles), so a
    size unit is refused rather than read as a count."""
    if isinstance(text, str):
        amount = text.partition("/")[0].strip()
        if re.fullmatch(r"[0-9.]+\s*[A-Za-z]+", amount):
            raise ValueError(f"{text!r} is a size per time, but this threshold counts things; "
                             f"write a number per time such as {_COUNTS}")
    return parse_rate(text, count=True)


def format_size(n: float) -> str:
    """Bytes -> '512Mi'-style text for messages."""
    for unit, size in (("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size and n % size == 0:
            return f"{int(n // size)}{unit}"
    return f"{n:g}"
