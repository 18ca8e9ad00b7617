"""inventory -> plans -> rendered files: the whole compile step, in memory."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rulegen import targets as tg
from rulegen.errors import InventoryError, Problem, Severity
from rulegen.inventory import Inventory, OutputSettings
from rulegen.loader import Loaded, load_text, read_inventory
from rulegen.model import ServicePlan
from rulegen.render import Renderer
from rulegen.testgen import test_file, test_path
from rulegen.writer import Staging, State, write_files, write_tree


@dataclass(frozen=True)
class Output:
    loaded: Loaded
    files: dict[str, str]  # path relative to the output directory -> text

    @property
    def warnings(self) -> list[Problem]:
        return self.loaded.warnings


def rules_path(runtime: str, service: str) -> str:
    return f"rules/{runtime}/{service}.yml"


@dataclass(frozen=True)
class Written:
    warnings: list[Problem]
    services: int
    alerts: int  # alert families, summed over services
    files: int  # how many files the output holds
    changed: bool  # False: the output already was exactly this


# `--target` of `rulegen check` reaches compile_inventory through run_check this way.
def compile_inventory(inventory: str | Path, out: str | Path,
                      templates: str | Path | None = None,
                      targets: Sequence[str] | None = None) -> Output:
    """Load, validate, plan and render INVENTORY; nothing is written. `targets` overrides the
    inventory's `output.targets`."""
    return _compile(*_prepare(inventory, out, templates, targets))


def _compile(job: _Job, split: _Split | None) -> Output:
    if split is None:
        loaded, files = job.run(job.text)
        return _finish(job, loaded, files, loaded.inventory.output if loaded.inventory else None)
    merged = _compile_parallel(job, *split)
    return _finish(job, merged.loaded(job.path), merged.files, merged.settings)


def generate_tree(inventory: str | Path, out: str | Path,
                  templates: str | Path | None = None,
                  targets: Sequence[str] | None = None) -> Written:
    """compile_inventory, then replace `out` with its files atomically (writer.Staging). In
    parallel mode each worker writes the files it rendered: the text never travels back."""
    job, split = _prepare(inventory, out, templates, targets)
    if split is None:
        output = _compile(job, split)
        changed = write_tree(Path(out), output.files)
        plans = output.loaded.plans
        return Written(output.warnings, len(plans), sum(len(p.alerts) for p in plans),
                       len(output.files), changed)
    staging = Staging(Path(out))
    try:
        merged = _compile_parallel(job, *split, staging)
        states = merged.states
        # Only the aggregated files (mimir) are left to write here.
        extra = _finish(job, merged.loaded(job.path), merged.files, merged.settings).files
        states.update(write_files(staging, ((p, t) for p, t in extra.items()
                                            if p not in states)))
    except BaseException:
        staging.discard()
        raise
    return Written(merged.warnings, merged.services, merged.alerts, len(states),
                   staging.commit(states))


_Split = tuple[list[str], list[tuple[int, int]]]  # chunk texts, each service's line range


def _prepare(inventory: str | Path, out: str | Path, templates: str | Path | None,
             targets: Sequence[str] | None) -> tuple[_Job, _Split | None]:
    text = read_inventory(inventory)
    # The header names the inventory relative to the output's parent, so the bytes do not
    # depend on the directory rulegen was run from.
    source = Path(os.path.relpath(Path(inventory).resolve(), Path(out).resolve().parent))
    override = tuple(targets) if targets else None
    job = _Job(text, str(inventory), source.as_posix(), templates, override)
    return job, split_services(text) if _workers() > 1 else None


def _finish(job: _Job, loaded: Loaded, files: dict[str, str],
            settings: OutputSettings | None) -> Output:
    """Add the targets that aggregate across services (mimir): a pure function of the plain
    rule files, so it runs once after the chunks are merged."""
    if "mimir" in tg.chosen(settings, job.targets):
        files.update(tg.mimir_files(
            ((p, path, files[path]) for p in loaded.plans
             for path in [rules_path(p.runtime, p.name)]),
            settings.mimir if settings else None, job.source))
    return Output(loaded, dict(sorted(files.items())))


@dataclass(frozen=True)
class _Job:
    text: str
    path: str
    source: str
    templates: str | Path | None
    targets: tuple[str, ...] | None = None  # --target: overrides output.targets

    def run(self, text: str) -> tuple[Loaded, dict[str, str]]:
        loaded = load_text(text, self.path)
        renderer = Renderer(self.templates)
        files: dict[str, str] = {}
        output = loaded.inventory.output if loaded.inventory else None
        with_tests = output.tests if output else True
        operator = "operator" in tg.chosen(output, self.targets)
        for plan in loaded.plans:
            rules_rel = rules_path(plan.runtime, plan.name)
            rules = renderer.rule_file(plan, self.source)
            files[rules_rel] = rules
            if operator:
                files[tg.operator_path(plan.runtime, plan.name)] = tg.operator_file(
                    rules, plan.name, output.operator if output else None, rules_rel)
            if with_tests:
                files[test_path(plan.runtime, plan.name)] = test_file(  # its promtool tests
                    plan, rules, f"../../{rules_rel}", self.source, renderer.env)
        return loaded, files


# Large inventories are compiled in chunks of services, one process per core: YAML parsing,
# validation and rendering are all per service. Each chunk's text keeps the header (defaults)
# and blanks every line of other services, so line numbers in messages stay exact.
_PARALLEL_FROM = 1000
_ITEM = re.compile(r"^( *)- ")
_job: _Job | None = None
_staging: Staging | None = None


def _workers() -> int:
    if "fork" not in mp.get_all_start_methods():
        return 1
    return min(os.cpu_count() or 1, 8)


def split_services(text: str) -> _Split | None:
    """Chunk texts of the `services:` list and each service's line range, or None when the
    text is not a plain block list (anchors, several documents, flow style) or too small to be
    worth it."""
    if (re.search(r"(^|[\s\[{,])[&*][A-Za-z0-9_]", text)
            or re.search(r"^(---|\.\.\.)", text, re.M)):
        return None
    lines = text.split("\n")
    try:
        start = next(i for i, ln in enumerate(lines) if re.match(r"^services:\s*(#.*)?$", ln))
    except StopIteration:
        return None
    items: list[int] = []
    end = len(lines)
    indent: str | None = None
    for i in range(start + 1, len(lines)):
        ln = lines[i]
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        m = _ITEM.match(ln)
        if indent is None:
            if not m:
                return None
            indent = m.group(1)
        if m and m.group(1) == indent:
            items.append(i)
        elif not ln.startswith(" ") and not (indent == "" and ln.startswith("- ")):
            end = i  # the next top-level key
            break
    if len(items) < _PARALLEL_FROM:
        return None
    n = _workers() * 2
    size = -(-len(items) // n)
    bounds = [(items[k], items[k + size] if k + size < len(items) else end)
              for k in range(0, len(items), size)]
    chunks = []
    for lo, hi in bounds:
        chunk = [ln if (i <= start or i >= end or lo <= i < hi) else ""
                 for i, ln in enumerate(lines)]
        chunks.append("\n".join(chunk))
    return chunks, list(zip(items, [*items[1:], end], strict=True))


@dataclass
class _Chunk:
    """What a worker sends back. With a staging tree the rendered text stays in the worker
    (it wrote the files) and so do the plans, unless the mimir target aggregates them."""
    loaded: Loaded | InventoryError | OSError
    files: dict[str, str]
    states: dict[str, State]
    services: int = 0
    alerts: int = 0


def _run_chunk(text: str) -> _Chunk:
    assert _job is not None
    try:
        loaded, files = _job.run(text)
    except InventoryError as exc:
        return _Chunk(exc, {}, {})
    # Send back only what the parent merges: positions and models would double the run time
    # in pickling alone.
    output = loaded.inventory.output if loaded.inventory else None
    plans = loaded.plans
    counts = len(plans), sum(len(p.alerts) for p in plans)
    states: dict[str, State] = {}
    if _staging is not None:
        try:
            states = {rel: _staging.put(rel, t.encode("utf-8")) for rel, t in files.items()}
        except OSError as exc:
            return _Chunk(exc, {}, {})
        if "mimir" in tg.chosen(output, _job.targets):
            files = {p: t for p, t in files.items() if p.startswith("rules/")}
        else:
            files, plans = {}, []
    light = Loaded(loaded.path, Inventory(services=[], output=output), plans,
                   loaded.warnings, None)
    return _Chunk(light, files, states, *counts)


def _compile_parallel(job: _Job, chunks: list[str], items: list[tuple[int, int]],
                      staging: Staging | None = None) -> _Merged:
    global _job, _staging
    _job, _staging = job, staging
    try:
        # The workers exit after their chunks: no cyclic garbage collection (about 5% of
        # their time, measured with perf), memory is freed when they do.
        with mp.get_context("fork").Pool(_workers(), initializer=gc.disable) as pool:
            results = pool.map(_run_chunk, chunks)
    finally:
        _job = _staging = None
    problems: set[Problem] = set()
    warnings: set[Problem] = set()
    merged = _Merged([], {}, None, {})
    for chunk in results:
        loaded = chunk.loaded
        if isinstance(loaded, OSError):  # only a worker that writes can get one
            assert staging is not None
            raise staging.failed(loaded)
        if isinstance(loaded, InventoryError):
            problems.update(loaded.problems)
            continue
        if loaded.inventory:  # every chunk carries the same header, output: included
            merged.settings = loaded.inventory.output
        merged.plans += loaded.plans
        warnings.update(loaded.warnings)
        merged.files.update(chunk.files)
        merged.states.update(chunk.states)
        merged.services += chunk.services
        merged.alerts += chunk.alerts
    problems.update(_duplicates(job, items))
    if problems:
        errors = sorted(problems | warnings)
        n = sum(p.severity == Severity.ERROR for p in errors)
        raise InventoryError(f"{job.path}: invalid inventory ({n} problem{'s' if n != 1 else ''});"
                             " nothing was written", errors)
    merged.warnings = sorted(warnings)
    return merged


@dataclass
class _Merged:
    plans: list[ServicePlan]  # empty when the workers wrote the files (and mimir is off)
    files: dict[str, str]
    settings: OutputSettings | None
    states: dict[str, State]
    warnings: list[Problem] = field(default_factory=list)
    services: int = 0
    alerts: int = 0

    def loaded(self, path: str) -> Loaded:
        return Loaded(path, None, self.plans, self.warnings, None)


_NAME = re.compile(r"^(\s*-?\s*)name:\s*(['\"]?)([^'\"#]*?)\2\s*(#.*)?$")


def _duplicates(job: _Job, items: list[tuple[int, int]]) -> list[Problem]:
    """Duplicate names across chunks, worded and placed exactly as the loader does."""
    lines = job.text.split("\n")
    first: dict[str, int] = {}
    out = []
    for lo, hi in items:
        indent = len(lines[lo]) - len(lines[lo].lstrip(" -"))
        for i in range(lo, hi):
            m = _NAME.match(lines[i])
            if m and len(m.group(1)) == indent:
                name, col = m.group(3), m.end(1) + len("name:") + 1
                col += len(lines[i][col - 1:]) - len(lines[i][col - 1:].lstrip())
                if name in first:
                    out.append(Problem(job.path, i + 1, col, f"duplicate service {name!r} "
                                       f"(first defined on line {first[name]}); service names "
                                       "must be unique"))
                else:
                    first[name] = lo + 1
                break
    return out
