"""Inventory file -> validated Inventory and service plans, or every problem at once."""

from __future__ import annotations

import difflib
import math
import types
import typing
import unicodedata
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from rulegen import yamlpos
from rulegen.errors import InventoryError, Problem, Severity
from rulegen.inventory import (
    CATALOG_NAME,
    K8S_LABEL_KEY,
    K8S_LABEL_VALUE,
    K8S_NAMESPACE,
    LABEL_NAME,
    LIMIT_METRIC,
    LINK_NAME,
    METRIC_NAME,
    SERVICE_NAME,
    SEVERITY,
    Inventory,
    KeyProblem,
    Service,
)
from rulegen.model import ServicePlan, plan
from rulegen.yamlpos import Located


@dataclass(frozen=True)
class Loaded:
    path: str
    inventory: Inventory | None  # None when compiled in parallel chunks
    plans: list[ServicePlan]
    warnings: list[Problem]
    located: Located | None


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the mapping at `loc`, for "did you mean" on unknown keys."""
    current: Any = Inventory
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int) or current is None:
            if typing.get_origin(current) is list:
                current = typing.get_args(current)[0]
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for name, f in current.model_fields.items()
                          if (f.alias or name) == part), None)
            current = field.annotation if field else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            tp = models[0] if models else args[0]
        elif origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        else:
            return tp


# What a pattern in inventory.py means, in the inventory's words.
_PATTERNS = {
    LABEL_NAME: "a label name starts with a letter or _ and has only letters, digits and _",
    SERVICE_NAME: "a service name has only letters, digits, '.', '_' and '-', and starts and "
                  "ends with a letter or digit",
    METRIC_NAME: "a metric name starts with a letter, _ or : and has only letters, digits, _ "
                 "and :",
    LINK_NAME: "a link name has only lower-case letters, digits and _, and starts with a letter",
    SEVERITY: "a severity has only lower-case letters, digits, _ and -, and starts with a letter",
    K8S_NAMESPACE: "a Kubernetes namespace is at most 63 lower-case letters, digits and '-', "
                   "starting and ending with a letter or digit",
    K8S_LABEL_KEY: "a Kubernetes label key is an optional DNS prefix and '/', then at most 63 "
                   "letters, digits, '-', '_' and '.'",
    K8S_LABEL_VALUE: "a Kubernetes label value is at most 63 letters, digits, '-', '_' and '.', "
                     "starting and ending with a letter or digit",
    LIMIT_METRIC: "a limit metric is a preset (cadvisor, kube-state-metrics, otel-k8s, "
                  "docker-stats) or a metric name (a letter, _ or : then letters, digits, _ and :)",
    CATALOG_NAME: "runtime and convention names are plain ASCII, without spaces",
}
_KINDS = {"string": "text", "dict": "a mapping (key: value)", "model": "a mapping (key: value)",
          "model_attributes": "a mapping (key: value)", "list": "a list", "int": "a whole number",
          "float": "a number", "bool": "true or false"}


def _shown(value: Any, written: str | None) -> str:
    """What a wrong value is, in YAML's words."""
    if written is not None:
        return (f"{_shown(value, None)} (YAML 1.1 reads {written} as {_shown(value, None)}; "
                f"write '{written}' in quotes if you mean the text)")
    if value is None:
        return "nothing (an empty value or null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"the value {'.nan' if math.isnan(value) else '-.inf' if value < 0 else '.inf'}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _odd_character(text: str) -> str:
    """Names the first character of `text` that is not printable ASCII: a look-alike (a Greek
    omicron for an o) or an invisible one is otherwise hard to find."""
    for ch in text:
        if not " " <= ch <= "~":
            name = unicodedata.name(ch, "")
            return f" (it contains {ch!r}, U+{ord(ch):04X}{' ' + name if name else ''})"
    return ""


def _union_tag(part: object) -> bool:
    """A part of pydantic's error location that names a type, not a key of the data."""
    return isinstance(part, str) and (part in ("str", "MatcherOp", "[key]")
                                      or part.startswith("function-"))


def _describe(err: Any, located: Located) -> Problem:
    loc = tuple(p for p in err["loc"] if not _union_tag(p))
    at_key = "[key]" in err["loc"]
    kind = err["type"]
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if loc and isinstance(loc[-1], int):  # an item of a list
        key = f"{key} entry {loc[-1] + 1}"
    error = err.get("ctx", {}).get("error")
    if isinstance(error, KeyProblem):  # a model's check that belongs to one of its keys
        return located.problem((*loc, error.key), str(error), key=True)
    if kind == "literal_error" and at_key:
        allowed = [a.strip("'") for a in err["ctx"]["expected"].replace(" or ", ", ").split(", ")]
        close = difflib.get_close_matches(str(err["input"]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f"; allowed here: {', '.join(allowed)}"
        return located.problem(loc, f"unknown key {err['input']!r}{hint}", key=True)
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = [f.alias or n for n, f in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; allowed here: {', '.join(allowed)}" if allowed else "")
        return located.problem(loc, f"unknown key {loc[-1]!r}{hint}", key=True)
    if kind == "missing":
        return located.problem(loc[:-1], f"missing required key {loc[-1]!r}")
    value = err["input"]
    written = located.written.get(loc)
    got = _shown(value, written)
    if kind == "string_pattern_mismatch":
        what = _PATTERNS.get(err.get("ctx", {}).get("pattern"), "it has characters not allowed "
                             "here")
        if err.get("ctx", {}).get("pattern") == LABEL_NAME and value.startswith("__"):
            what = "label names that start with __ are Prometheus's own"
        msg = (f"{value!r} is not allowed {'as a key ' if at_key else ''}here: {what}"
               f"{_odd_character(value)}")
    elif kind == "string_too_short":
        msg = f"{key}: may not be empty"
    elif kind == "string_too_long":
        msg = f"{key}: at most {err['ctx']['max_length']} characters (this one has {len(value)})"
    elif kind == "literal_error":
        msg = f"{key}: {got} is not one of: {err['ctx']['expected'].replace(' or ', ', ')}"
    elif kind == "finite_number":
        msg = f"{key}: {got} is not a finite number"
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        want = _KINDS.get(kind.rsplit("_", 1)[0], "another kind of value")
        if _union_tag(err["loc"][-1]) and err["loc"][-1] != "[key]":  # the matcher itself
            want = "text, or a mapping with one of regex, not, not_regex"
        if want.startswith("text") and written is None and isinstance(value, int | float):
            got += f"; write '{_shown(value, None).split()[-1]}' in quotes if you mean the text"
        msg = f"{key}: expected {want}, got {got}" if key else f"expected {want}, got {got}"
    else:
        text = err["msg"].removeprefix("Value error, ")
        if written is not None:  # what YAML 1.1 read, e.g. `yes` for a size or 1.0e+400
            text += f" (YAML 1.1 reads {written} as {_shown(value, None)})"
        msg = f"{key}: {text}" if key else text
    return located.problem(loc, msg, key=at_key)


def _without_bad_defaults(data: dict[str, Any], exc: ValidationError) -> Inventory | None:
    """Drop the defaults keys that failed so the services can still be checked against the
    rest; None when the failure is elsewhere at the top level."""
    bad = {e["loc"][1] for e in exc.errors() if len(e["loc"]) > 1 and e["loc"][0] == "defaults"}
    if not bad or any(e["loc"][:1] != ("defaults",) for e in exc.errors()):
        return None
    defaults = data.get("defaults")
    if not isinstance(defaults, dict):
        return None
    rest = {k: v for k, v in defaults.items() if k not in bad}
    if "owner" in bad:  # as in _without_bad_fields: not also "no owner" for every service
        rest["owner"] = "?"
    try:
        return Inventory.model_validate({**data, "services": [], "defaults": rest})
    except ValidationError:
        return None


def _without_bad_fields(raw: Any, exc: ValidationError) -> Service | None:
    """The service without the keys that failed, to check the rest against the catalog; None
    when it cannot stand without them. A bad owner stands in as set: its own message says
    what is wrong, and "no owner" would be a second message for the same line."""
    bad = {e["loc"][0] for e in exc.errors() if e["loc"]}
    if not isinstance(raw, dict) or "name" in bad or "runtime" in bad:
        return None
    rest = {k: v for k, v in raw.items() if k not in bad}
    if "owner" in bad:
        rest["owner"] = "?"
    try:
        return Service.model_validate(rest)
    except ValidationError:
        return None


class ServiceNames:
    """Service names seen so far: a name given twice, or two names that differ only in case
    (their files would collide on case-insensitive file systems), is a problem."""

    def __init__(self) -> None:
        self.first: dict[str, tuple[str, int, tuple[int, int]]] = {}

    def add(self, name: str, line: int, at: tuple[int, int] = (0, 0)) -> str | None:
        """`line`: the service's; `at`: where its name is written."""
        seen = self.first.get(name.casefold())
        if seen is None:
            self.first[name.casefold()] = (name, line, at)
            return None
        other, first_line, _ = seen
        if other == name:
            return (f"duplicate service {name!r} (first defined on line {first_line}); service "
                    "names must be unique")
        return (f"service {name!r} differs from {other!r} (line {first_line}) only in case; their "
                "files would collide on case-insensitive file systems (macOS, Windows)")


def _problems(exc: ValidationError, located: Located, prefix: tuple[Any, ...]) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[int, int, str]] = set()
    for err in exc.errors():
        if err["loc"][-1:] == ("str",) and isinstance(err["input"], dict):
            continue  # a mapping given where text or a mapping may stand: its own errors tell
        p = _describe({**err, "loc": (*prefix, *err["loc"])}, located)
        if (p.line, p.col, p.message) not in seen:
            seen.add((p.line, p.col, p.message))
            out.append(p)
    return out


def _summary(shown: str, problems: list[Problem]) -> str:
    n = sum(p.severity == Severity.ERROR for p in problems)
    return f"{shown}: invalid inventory ({n} problem{'s' if n != 1 else ''}); nothing was written"


MAX_INVENTORY_BYTES = 64 * 2**20


def load_inventory(path: str | FsPath) -> Loaded:
    """Load and validate; raise InventoryError with every problem found."""
    return load_text(read_inventory(path), str(path))


def read_inventory(path: str | FsPath) -> str:
    """The inventory's text. It must be UTF-8 (a UTF-8 byte-order mark is allowed) and at most
    MAX_INVENTORY_BYTES; anything else is refused with where and what was expected."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_INVENTORY_BYTES + 1)
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such inventory file") from None
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read the inventory: {exc.strerror or exc}") from None
    if len(data) > MAX_INVENTORY_BYTES:
        raise InventoryError(f"{path}: the inventory is larger than {MAX_INVENTORY_BYTES >> 20} "
                             "MiB, the most rulegen reads; split it into several inventories")
    return decode(data, str(path))


_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
         (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def decode(data: bytes, shown: str) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            problem = Problem(shown, 1, 1, f"the inventory is {name} (it starts with a {name} "
                              "byte-order mark); rulegen reads UTF-8 only: save it as UTF-8")
            raise InventoryError(_summary(shown, [problem]), [problem])
    head = data[:64]
    if head.count(0) * 4 >= len(head) > 1:  # ASCII as UTF-16 or UTF-32: every other byte is 0
        name = "UTF-32" if head.count(0) * 4 >= len(head) * 3 else "UTF-16"
        problem = Problem(shown, 1, 1, f"the inventory looks like {name} without a byte-order "
                          f"mark ({head.count(0)} of its first {len(head)} bytes are 0); rulegen "
                          "reads UTF-8 only: save it as UTF-8")
        raise InventoryError(_summary(shown, [problem]), [problem])
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        head = data[:exc.start]
        line = head.count(b"\n") + 1
        col = len(head[head.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        bad = data[exc.start:exc.start + 1].hex()
        guess = "; it looks like UTF-16" if b"\x00" in data[:64] else (
            "; it looks like Latin-1 or Windows-1252" if data[exc.start] >= 0x80 else "")
        problem = Problem(shown, line, col, f"byte 0x{bad} is not UTF-8{guess}: rulegen reads "
                          "UTF-8 only; save the inventory as UTF-8")
        raise InventoryError(_summary(shown, [problem]), [problem]) from None


def load_text(text: str, shown: str) -> Loaded:
    """Validate inventory text that came from the file `shown` (used in messages)."""
    located, problems = yamlpos.load(text, shown)
    if problems and any(p.check == "yaml" for p in problems) and located.data is None:
        raise InventoryError(_summary(shown, problems), problems)
    data = located.data
    if not isinstance(data, dict):
        got = f"the text {data!r}" if isinstance(data, str) else _shown(data, None)
        what = "the inventory is empty" if data is None else (
            f"the inventory is {got}, not a mapping")
        problems.append(Problem(shown, 1, 1, f"{what}: it must be a mapping with a services: "
                                "list (and optional version:, output:, defaults:)"))
        raise InventoryError(_summary(shown, problems), problems)
    # Validate each service on its own so one bad service does not hide the others' problems
    # and the semantic checks still run on every service that parsed.
    raw_services = data.get("services")
    services: list[Service] = []
    indices: list[int] = []
    top: Inventory | None
    try:
        top = Inventory.model_validate({**data, "services": []} if isinstance(
            raw_services, list) else data)
    except ValidationError as exc:
        problems += _problems(exc, located, ())
        top = _without_bad_defaults(data, exc)
    names = ServiceNames()
    partial: list[Service] = []  # services with bad fields dropped: checked, never planned
    partial_indices: list[int] = []
    for i, raw in enumerate(raw_services if isinstance(raw_services, list) else []):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str):
            name_at = located.where(("services", i, "name"))
            clash = names.add(name, located.where(("services", i))[0], name_at)
            if clash:  # at the name, or at the service when both names are one (an alias)
                same = name_at == names.first[name.casefold()][2]
                problems.append(located.problem(("services", i) if same else (
                    "services", i, "name"), clash))
                if clash.startswith("duplicate"):
                    continue
        try:
            services.append(Service.model_validate(raw))
            indices.append(i)
        except ValidationError as exc:
            problems += _problems(exc, located, ("services", i))
            rest = _without_bad_fields(raw, exc)
            if rest is not None:
                partial.append(rest)
                partial_indices.append(i)
    if top is None:
        raise InventoryError(_summary(shown, problems), problems)
    inventory = top.model_copy(update={"services": services})
    plans, found = plan(inventory, located, indices) if (services or not raw_services) else ([], [])
    problems += found
    if partial:  # what the services with bad fields also get wrong, so one round fixes all
        _, found = plan(top.model_copy(update={"services": partial}), located, partial_indices)
        known = {(p.line, p.col, p.message) for p in problems}
        problems += [p for p in found if p.severity == Severity.ERROR
                     and (p.line, p.col, p.message) not in known]
    # A block merged or aliased into two places is wrong in both: say it once.
    problems = list({(p.line, p.col, p.message, p.severity): p for p in problems}.values())
    errors = [p for p in problems if p.severity == Severity.ERROR]
    if errors:
        raise InventoryError(_summary(shown, problems), problems)
    return Loaded(shown, inventory, plans, [p for p in problems if p not in errors], located)
