"""inventory -> plans -> rendered files: the whole compile step, in memory."""

from __future__ import annotations

import multiprocessing as mp
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rulegen import targets as tg
from rulegen.errors import InventoryError, Problem, Severity
from rulegen.inventory import Inventory, OutputSettings
from rulegen.loader import Loaded, load_text, read_inventory
from rulegen.model import ServicePlan
from rulegen.render import Renderer
from rulegen.testgen import test_file, test_path


@dataclass(frozen=True)
class Output:
    loaded: Loaded
    files: dict[str, str]  # path relative to the output directory -> text

    @property
    def warnings(self) -> list[Problem]:
        return self.loaded.warnings


def rules_path(runtime: str, service: str) -> str:
    return f"rules/{runtime}/{service}.yml"


# `--target` of `rulegen check` reaches compile_inventory through run_check this way.
def compile_inventory(inventory: str | Path, out: str | Path,
                      templates: str | Path | None = None,
                      targets: Sequence[str] | None = None) -> Output:
    """Load, validate, plan and render INVENTORY; nothing is written. `targets` overrides the
    inventory's `output.targets`."""
    text = read_inventory(inventory)
    # The header names the inventory relative to the output's parent, so the bytes do not
    # depend on the directory rulegen was run from.
    source = Path(os.path.relpath(Path(inventory).resolve(), Path(out).resolve().parent))
    override = tuple(targets) if targets else None
    job = _Job(text, str(inventory), source.as_posix(), templates, override)
    split = split_services(text) if _workers() > 1 else None
    if split is None:
        loaded, files = job.run(text)
        return _finish(job, loaded, files, loaded.inventory.output if loaded.inventory else None)
    return _compile_parallel(job, *split)


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


def _workers() -> int:
    if "fork" not in mp.get_all_start_methods():
        return 1
    return min(os.cpu_count() or 1, 8)


def split_services(text: str) -> tuple[list[str], list[tuple[int, int]]] | None:
    """Chunk texts of the `services:` list and each service's line range, or None when the text is not a plain block list
    (anchors, several documents, flow style) or too small to be worth it."""
    if re.search(r"(^|[\s\[{,])[&*][A-Za-z0-9_]", text) or re.search(r"^(---|\.\.\.)", text, re.M):
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


def _run_chunk(text: str) -> tuple[Loaded | InventoryError, dict[str, str]]:
    assert _job is not None
    try:
        loaded, files = _job.run(text)
    except InventoryError as exc:
        return exc, {}
    # Send back only what the parent merges: positions and models would double the run time
    # in pickling alone.
    output = loaded.inventory.output if loaded.inventory else None
    light = Inventory(services=[], output=output)
    return Loaded(loaded.path, light, loaded.plans, loaded.warnings, None), files


def _compile_parallel(job: _Job, chunks: list[str], items: list[tuple[int, int]]) -> Output:
    global _job
    _job = job
    try:
        with mp.get_context("fork").Pool(_workers()) as pool:
            results = pool.map(_run_chunk, chunks)
    finally:
        _job = None
    problems: set[Problem] = set()
    plans: list[ServicePlan] = []
    warnings: set[Problem] = set()
    files: dict[str, str] = {}
    settings: OutputSettings | None = None
    for loaded, part in results:
        if isinstance(loaded, InventoryError):
            problems.update(loaded.problems)
            continue
        if loaded.inventory:  # every chunk carries the same header, output: included
            settings = loaded.inventory.output
        plans += loaded.plans
        warnings.update(loaded.warnings)
        files.update(part)
    problems.update(_duplicates(job, items))
    if problems:
        errors = sorted(problems | warnings)
        n = sum(p.severity == Severity.ERROR for p in errors)
        raise InventoryError(f"{job.path}: invalid inventory ({n} problem{'s' if n != 1 else ''});"
                             " nothing was written", errors)
    loaded = Loaded(job.path, None, plans, sorted(warnings), None)
    return _finish(job, loaded, files, settings)


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
