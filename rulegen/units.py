"""Human units in the inventory: sizes (512Mi), durations (2h) and rates (10MiB/h)."""

from __future__ import annotations

import functools
import math
import re

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
    "t": 10**12, "tb": 10**12,
    "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20, "gi": 2**30, "gib": 2**30,
    "ti": 2**40, "tib": 2**40,
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

SIZE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B?|[kmgt]i?b?|B|b)?$"
DURATION_PATTERN = r"^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
RATE_PATTERN = r"^[0-9]+(\.[0-9]+)?\s*[A-Za-z]*\s*/\s*(s|sec|m|min|h|d)$"


def _bounded(n: float, limit: float, what: str, text: object) -> float:
    if not math.isfinite(n):
        raise ValueError(f"{text!r} is not a finite number; give a {what} such as "
                         f"{'512Mi' if what == 'size' else '10MiB/h'}")
    if n < 0:
        raise ValueError(f"{text!r}: a {what} cannot be negative")
    if n > limit:
        raise ValueError(f"{text!r} is larger than the largest {what} rulegen accepts "
                         f"({format_size(limit)})")
    return n


def parse_size(text: str | int | float) -> int:
    """`512Mi` -> 536870912. Plain numbers are bytes. At most MAX_SIZE."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError("expected a size such as 512Mi or 1Gi")
    if isinstance(text, int | float):
        return int(_bounded(text, MAX_SIZE, "size", text))
    if text.strip().startswith("-"):
        raise ValueError(f"{text!r}: a size cannot be negative")
    m = _SIZE_RE.match(text)
    if m and m.group(2) in _AMBIGUOUS_UNITS:
        raise ValueError(f"{text!r} is ambiguous: `m` is milli in Kubernetes; write "
                         f"{m.group(1)}Mi (mebibytes, 2^20) or {m.group(1)}M (megabytes, 10^6)")
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise ValueError(f"{text!r} is not a size; use e.g. 512Mi, 1Gi, 300M or a number of bytes")
    if len(m.group(1)) > MAX_DIGITS:
        raise ValueError(f"{text!r} is larger than the largest size rulegen accepts "
                         f"({format_size(MAX_SIZE)})")
    return int(_bounded(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()], MAX_SIZE,
                        "size", text))


def parse_duration(text: str | int) -> int:
    """`1h30m` -> 5400 seconds. Plain integers are seconds. At most MAX_DURATION."""
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 30m or 2h")
    if isinstance(text, int):
        seconds = text
    else:
        m = _DUR_RE.match(text.strip()) if isinstance(text, str) else None
        if not m or not any(m.groups()):
            raise ValueError(f"{text!r} is not a duration; use e.g. 30s, 5m, 2h, 1d or 1h30m")
        if any(g and len(g) > MAX_DIGITS for g in m.groups()):
            seconds = MAX_DURATION + 1
        else:
            seconds = sum(int(g) * u for g, u in zip(m.groups(), _DUR_UNITS, strict=True) if g)
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than the longest duration rulegen accepts "
                         f"({format_duration(MAX_DURATION)})")
    return seconds


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


def parse_rate(text: str | int | float) -> float:
    """`10MiB/h` -> bytes per hour; `100/h` -> per hour. Plain numbers are per hour."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError("expected a rate such as 10MiB/h or 50/h")
    if isinstance(text, int | float):
        return float(_bounded(text, MAX_SIZE, "rate", text))
    if text.strip().startswith("-"):
        raise ValueError(f"{text!r}: a rate cannot be negative")
    amount, sep, per = text.partition("/")
    per = per.strip().lower()
    if not sep or per not in _PER:
        raise ValueError(f"{text!r} is not a rate; use e.g. 10MiB/h, 1Mi/min or 50/h")
    return parse_size(amount) * 3600 / _PER[per]


def parse_count_rate(text: str | int | float) -> float:
    """`100/h` -> 100 per hour: a rate of things counted (goroutines, threads, handles), so a
    size unit is refused rather than read as a count."""
    if isinstance(text, str):
        amount = text.partition("/")[0].strip()
        if re.fullmatch(r"[0-9.]+\s*[A-Za-z]+", amount):
            raise ValueError(f"{text!r} is a size per time, but this threshold counts things; "
                             "write a number per time such as 100/h or 5/min")
    return parse_rate(text)


def format_size(n: float) -> str:
    """Bytes -> '512Mi'-style text for messages."""
    for unit, size in (("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if n >= size and n % size == 0:
            return f"{int(n // size)}{unit}"
    return f"{n:g}"
