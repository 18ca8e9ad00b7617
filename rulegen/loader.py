"""Inventory file -> validated Inventory and service plans, or every problem at once."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from rulegen import yamlpos
from rulegen.errors import InventoryError, Problem, Severity
from rulegen.inventory import Inventory, Service
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


def _describe(err: Any, located: Located) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("str", "MatcherOp")))
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = [f.alias or n for n, f in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else (
            f"; allowed here: {', '.join(allowed)}" if allowed else "")
        return located.problem(loc, f"unknown key {loc[-1]!r}{hint}", key=True)
    if kind == "missing":
        return located.problem(loc[:-1], f"missing required key {loc[-1]!r}")
    msg = err["msg"].removeprefix("Value error, ")
    if kind in ("string_pattern_mismatch",):
        return located.problem(
            loc, f"{err['input']!r} is not allowed here: {msg[0].lower()}{msg[1:]}")
    elif kind.endswith("_type") or kind.endswith("_parsing"):
        msg = f"{msg} (got {type(err['input']).__name__} {err['input']!r})"
    key = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    return located.problem(loc, f"{key}: {msg}" if key else msg)


def _without_bad_defaults(data: dict[str, Any], exc: ValidationError) -> Inventory | None:
    """Drop the defaults keys that failed so the services can still be checked against the
    rest; None when the failure is elsewhere at the top level."""
    bad = {e["loc"][1] for e in exc.errors() if len(e["loc"]) > 1 and e["loc"][0] == "defaults"}
    if not bad or any(e["loc"][:1] != ("defaults",) for e in exc.errors()):
        return None
    defaults = data.get("defaults")
    if not isinstance(defaults, dict):
        return None
    try:
        return Inventory.model_validate({
            **data, "services": [],
            "defaults": {k: v for k, v in defaults.items() if k not in bad}})
    except ValidationError:
        return None


def _problems(exc: ValidationError, located: Located, prefix: tuple[Any, ...]) -> list[Problem]:
    out: list[Problem] = []
    seen: set[tuple[int, int, str]] = set()
    for err in exc.errors():
        p = _describe({**err, "loc": (*prefix, *err["loc"])}, located)
        if (p.line, p.col, p.message) not in seen:
            seen.add((p.line, p.col, p.message))
            out.append(p)
    return out


def _summary(shown: str, problems: list[Problem]) -> str:
    n = sum(p.severity == Severity.ERROR for p in problems)
    return f"{shown}: invalid inventory ({n} problem{'s' if n != 1 else ''}); nothing was written"


def load_inventory(path: str | FsPath) -> Loaded:
    """Load and validate; raise InventoryError with every problem found."""
    return load_text(read_inventory(path), str(path))


def read_inventory(path: str | FsPath) -> str:
    try:
        return FsPath(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such inventory file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read the inventory: {exc}") from None


def load_text(text: str, shown: str) -> Loaded:
    """Validate inventory text that came from the file `shown` (used in messages)."""
    located, problems = yamlpos.load(text, shown)
    if problems and any(p.check == "yaml" for p in problems) and located.data is None:
        raise InventoryError(_summary(shown, problems), problems)
    data = located.data
    if not isinstance(data, dict):
        problems.append(Problem(shown, 1, 1, "the inventory must be a mapping with a "
                                "services: list (and optional defaults:)"))
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
    first_line: dict[str, int] = {}
    for i, raw in enumerate(raw_services if isinstance(raw_services, list) else []):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str):
            if name in first_line:
                problems.append(located.problem(
                    ("services", i, "name"), f"duplicate service {name!r} (first defined on "
                    f"line {first_line[name]}); service names must be unique"))
                continue
            first_line[name] = located.where(("services", i))[0]
        try:
            services.append(Service.model_validate(raw))
            indices.append(i)
        except ValidationError as exc:
            problems += _problems(exc, located, ("services", i))
    if top is None:
        raise InventoryError(_summary(shown, problems), problems)
    inventory = top.model_copy(update={"services": services})
    plans, found = plan(inventory, located, indices) if (services or not raw_services) else ([], [])
    problems += found
    errors = [p for p in problems if p.severity == Severity.ERROR]
    if errors:
        raise InventoryError(_summary(shown, problems), problems)
    return Loaded(shown, inventory, plans, [p for p in problems if p not in errors], located)
