"""inventory -> plans -> rendered files: the whole compile step, in memory."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing as mp
import os
import posixpath
import re
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from rulegen import targets as tg
from rulegen.classes import (
    RULES_SUFFIX,
    ClassBuilder,
    ClassPart,
    Identity,
    canonical_plans,
    class_files,
    class_label,
    class_paths,
    digest,
    placeholder,
    to_root,
)
from rulegen.errors import InventoryError, Problem, Severity
from rulegen.inventory import Inventory, OutputSettings
from rulegen.layout import (
    Scope,
    class_group,
    class_regex,
    class_rules_path,
    members_group,
    members_rules_path,
)
from rulegen.loader import Loaded, ServiceNames, load_text, read_inventory
from rulegen.model import ServicePlan
from rulegen.promql import alternation
from rulegen.recording import limit_group, limit_rules_path
from rulegen.render import Renderer, TemplateProblem
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
        loaded, files, classes = job.run(job.text)
        return _finish(job, loaded, files, loaded.inventory.output if loaded.inventory else None,
                       classes)
    merged = _compile_parallel(job, *split)
    return _finish(job, merged.loaded(job.path), merged.files, merged.settings, merged.classes)


def generate_tree(inventory: str | Path, out: str | Path,
                  templates: str | Path | None = None,
                  targets: Sequence[str] | None = None) -> Written:
    """compile_inventory, then replace `out` with its files atomically (writer.Staging). In
    parallel mode each worker writes the files it rendered: the text never travels back.
    Either way the whole inventory is validated before anything is rendered or written, and
    the staging tree is made only then."""
    job, split = _prepare(inventory, out, templates, targets)
    with _terminate_cleanly():
        if split is None:
            output = _compile(job, split)
            changed = write_tree(Path(out), output.files)
            plans = output.loaded.plans
            return Written(output.warnings, len(plans), sum(len(p.alerts) for p in plans),
                           len(output.files), changed)
        made: list[Staging] = []

        def stage() -> Staging:
            made.append(Staging(Path(out)))
            return made[0]

        try:
            merged = _compile_parallel(job, *split, stage)
            staging = made[0]
            states = merged.states
            # Only the aggregated files (mimir, the proof classes) are left to write here.
            extra = _finish(job, merged.loaded(job.path), merged.files, merged.settings,
                            merged.classes).files
            states.update(write_files(staging, ((p, t) for p, t in extra.items()
                                                if p not in states)))
        except BaseException:
            for s in made:
                s.discard()
            raise
        return Written(merged.warnings, merged.services, merged.alerts, len(states),
                       staging.commit(states))


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """SIGTERM (`timeout`, a cancelled CI job) unwinds like an exception while the output is
    being written, so the staging tree is removed; exit status 143 as if killed. A handler the
    program installed itself is left alone."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        # A second SIGTERM (several workers, a CI runner repeating itself) must not cut the
        # cleanup the first one started short: a half-removed staging tree would stay.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
            settings: OutputSettings | None, classes: list[ClassPart]) -> Output:
    """Add what aggregates across services: the fleet limits, the proof classes' test files
    and index (rulegen/classes.py), the mimir target. A pure function of the plans, the chunks'
    classes in order and the plain rule files, so it runs once after the chunks are merged."""
    chosen = tg.chosen(settings, job.targets)
    grouped = _RuleClasses(job) if settings and settings.layout == "classes" else None
    proof = class_files(classes, job.source, grouped.regroup if grouped else None)
    if settings is None or settings.tests:
        files.update(proof)
    limits = _limit_files(job, loaded)
    files.update(limits.values())
    if grouped:
        files.update({path: text for _, _, _, path, text in grouped.files})
    if "operator" in chosen:  # (folder, file, object name, plain file, its text)
        files.update({tg.operator_path(folder, stem): tg.operator_file(
            text, name, settings.operator if settings else None, path)
            for folder, stem, name, path, text in [
                *(("limits", lid, f"limit-{lid}", path, text)
                  for lid, (path, text) in limits.items()),
                *(("classes", name, f"class-{name}", path, text)
                  for _, name, _, path, text in (grouped.files if grouped else []))]})
    if "mimir" in chosen:
        files.update(tg.mimir_files(
            [*((p.owner, f"rulegen.{p.name}", path, files[path]) for p in loaded.plans
               for path in [rules_path(p.runtime, p.name)] if path in files),
             *((owner, group, path, text)
               for owner, _, group, path, text in (grouped.files if grouped else []))],
            settings.mimir if settings else None, job.source,
            [(limit_group(lid), path, text) for lid, (path, text) in limits.items()]))
    return Output(loaded, dict(sorted(files.items())))


class _RuleClasses:
    """output.layout: classes (rulegen/layout.py): each proof class whose services are named by
    the default selector becomes rule classes, one per set of its other identity values (owner,
    routing labels, links). Each gets its rule file, the canonical one with the class's values
    put back, and the file of its members; the proof is the canonical class file (one member,
    a placeholder) with its canonical members file and the tests generated for it. `files`:
    (owner, name, group, path, text) of every file written for the classes."""

    def __init__(self, job: _Job) -> None:
        self.job = job
        self.renderer = Renderer(job.templates)
        self.files: list[tuple[str, str, str, str, str]] = []

    def regroup(self, key: str, cplan: ServicePlan,
                names: list[tuple[str, tuple[str, ...] | None]]
                ) -> tuple[dict[str, str], list[tuple[str, str, list[tuple[str, tuple[str, ...]
                                                                            | None]]]]]:
        label, first = class_label(cplan), names[0][1]
        assert label is not None and first is not None
        name = placeholder(1)
        scope = Scope(name, label, name, placeholder(len(first)))
        text = self.renderer.rule_file(cplan, self.job.source, scope)
        # The name may be in the selector only (the members' regex); the inventory line
        # nowhere (a class's file is every member's).
        if text.count(name) != text.count(f'=~"{name}"') or placeholder(0) in text:
            raise TemplateProblem(
                f"{self.job.path}:{first[0]}: output.layout: classes: a template writes the "
                f"name or the inventory line of this {cplan.runtime} service (svc.name, "
                "svc.line) into the rule file it shares with its class; name the service by "
                "who.text there ({{ $labels.service }} in a class's file), docs/templates.md")
        ckey = digest(text)
        rules_rel, test_rel = class_paths(cplan.runtime, ckey)
        members_rel = rules_rel.removesuffix(RULES_SUFFIX) + ".members" + RULES_SUFFIX
        root = to_root(test_rel)
        proof = {rules_rel: text,
                 members_rel: self.renderer.members_file(scope, [name], self.job.source,
                                                          cplan.eval_s),
                 test_rel: test_file(cplan, text, posixpath.basename(rules_rel), root,
                                     self.job.source, self.renderer.env,
                                     [posixpath.basename(members_rel)],
                                     [members_group(scope.cls)])}
        by_values: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = {}
        for member, values in names:
            assert values is not None
            by_values.setdefault(values[2:], []).append((member, values))
        indexed: list[tuple[str, tuple[str, ...] | None]] = []
        for rest, members in by_values.items():
            cls = f"{cplan.runtime}-" + hashlib.sha256(
                repr((key, rest)).encode()).hexdigest()[:12]
            services = [m.split("/", 1)[1] for m, _ in members]
            ident = Identity((members[0][1][0], class_regex(services), *rest, cls))
            real = Scope(services[0], label, alternation(services), cls)
            path, mpath = class_rules_path(cls), members_rules_path(cls)
            owner = rest[0]  # the placeholder after the name (classes.canonical_service)
            self.files += [
                (owner, cls, class_group(cls), path, ident.instantiate(text)),
                (owner, f"{cls}.members", members_group(cls), mpath,
                 self.renderer.members_file(real, services, self.job.source, cplan.eval_s))]
            indexed.append((path.removeprefix("rules/").removesuffix(".yml"), ident.values))
        return proof, [(test_rel, ckey, indexed)]


def _limit_files(job: _Job, loaded: Loaded) -> dict[str, tuple[str, str]]:
    """id -> (rules/limits/<id>.yml, text): each limit definition the services use, recorded
    once for the fleet (rulegen/recording.py). From the plans: the same in serial and
    parallel runs."""
    fleets = {p.limit.fleet.id: p.limit.fleet for p in loaded.plans
              if p.limit and p.limit.fleet}
    if not fleets:
        return {}
    readers: dict[str, set[int | None]] = {}
    for p in loaded.plans:
        if p.limit and p.limit.fleet:
            readers.setdefault(p.limit.fleet.id, set()).add(p.eval_s)
    renderer = Renderer(job.templates)
    return {lid: (limit_rules_path(lid),
                  renderer.limit_file(f, job.source, limit_interval(readers[lid]),
                                      max((r for r in readers[lid] if r), default=None)))
            for lid, f in sorted(fleets.items())}


def limit_interval(readers: set[int | None]) -> int | None:
    """The evaluation interval of a fleet limit's group, from its readers' (None: Prometheus's
    global one): the shortest where every reader sets one, else the global. The limit is
    joined onto the readers' recorded peaks, so it is never fresher than they are; evaluated
    more often it costs more and tells nothing new (docs/families.md, "Evaluation
    interval")."""
    own = [r for r in readers if r is not None]
    return min(own) if own and len(own) == len(readers) else None


@dataclass(frozen=True)
class _Job:
    text: str
    path: str
    source: str
    templates: str | Path | None
    targets: tuple[str, ...] | None = None  # --target: overrides output.targets

    def run(self, text: str) -> tuple[Loaded, dict[str, str], list[ClassPart]]:
        loaded = load_text(text, self.path)
        classes: list[ClassPart] = []
        return loaded, dict(self.render(loaded, classes)), classes

    def render(self, loaded: Loaded, classes: list[ClassPart]) -> Iterator[tuple[str, str]]:
        """(path, text) of each service's files, service by service; with tests on, the
        services' proof classes (rulegen/classes.py) are appended to `classes`: their test
        files are written once the classes of every chunk are known (`_finish`)."""
        renderer = Renderer(self.templates)
        output = loaded.inventory.output if loaded.inventory else None
        with_tests = output.tests if output else True
        rule_classes = output.layout == "classes" if output else False
        operator = "operator" in tg.chosen(output, self.targets)
        builder = ClassBuilder(
            lambda canonical: renderer.rule_file(canonical, self.source),
            lambda plan, rules, rules_rel, root: test_file(plan, rules, rules_rel, root,
                                                           self.source, renderer.env),
            lambda plan: (rules_path(plan.runtime, plan.name),
                          test_path(plan.runtime, plan.name)),
            rule_classes) if with_tests or rule_classes else None
        canonical = (canonical_plans(loaded.inventory, loaded.located, loaded.plans)
                     if builder else [])
        for i, plan in enumerate(loaded.plans):
            rules_rel = rules_path(plan.runtime, plan.name)
            rules = renderer.rule_file(plan, self.source)
            if builder and builder.add(plan, rules, canonical[i]):
                continue  # in its rule class's file (_RuleClasses)
            yield rules_rel, rules
            if operator:
                yield tg.operator_path(plan.runtime, plan.name), tg.operator_file(
                    rules, plan.name, output.operator if output else None, rules_rel)
        if builder:
            classes.append(builder.part)


# Large inventories are compiled in chunks of services, one process per core: YAML parsing,
# validation and rendering are all per service. Each chunk's text keeps the header (defaults)
# and blanks every line of other services, so line numbers in messages stay exact.
_PARALLEL_FROM = 1000
_ITEM = re.compile(r"^( *)- ")


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
    n = _workers()  # one chunk per worker: it keeps its chunk loaded between the two passes
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
    loaded: Loaded | OSError
    files: dict[str, str]
    states: dict[str, State]
    classes: list[ClassPart]  # the chunk's proof classes, with its first members' test files
    services: int = 0
    alerts: int = 0


def _render_chunk(job: _Job, loaded: Loaded, staging: Staging | None,
                  parent: int | None = None) -> _Chunk:
    """Render a validated chunk. With a staging tree each file is written as soon as it is
    rendered, and only what the parent merges goes back: positions and models would double
    the run time in pickling alone, the texts are on disk (but for mimir, which aggregates
    the rule files)."""
    output = loaded.inventory.output if loaded.inventory else None
    plans = loaded.plans
    counts = len(plans), sum(len(p.alerts) for p in plans)
    states: dict[str, State] = {}
    classes: list[ClassPart] = []
    if staging is None:
        files = dict(job.render(loaded, classes))
    else:
        mimir = "mimir" in tg.chosen(output, job.targets)
        files = {}
        try:
            staging.share()
            for rel, text in job.render(loaded, classes):
                if parent is not None and os.getppid() != parent:
                    raise EOFError  # the parent died: stop writing for nobody
                states[rel] = staging.put(rel, text.encode("utf-8"))
                if mimir and rel.startswith("rules/"):
                    files[rel] = text
        except OSError as exc:
            return _Chunk(exc, {}, {}, [])
        if not mimir:  # one plan per fleet limit and interval is all the parent needs
            plans = list({(p.limit.fleet.id, p.eval_s): p for p in plans  # (_limit_files)
                          if p.limit and p.limit.fleet}.values())
    light = Loaded(loaded.path, Inventory(services=[], output=output), plans,
                   loaded.warnings, None)
    return _Chunk(light, files, states, classes, *counts)


@dataclass(frozen=True)
class _Crash:
    """A bug in a worker: its traceback, raised again in the parent."""
    text: str


def _serve(conn: Connection, job: _Job, text: str, others: list[Connection]) -> None:
    """A worker: validate its chunk and report the problems; then, only when the parent says
    the whole inventory is valid, render it (into the staging tree it is sent, if any)."""
    # The parent's ends of the pipes are the parent's alone: when it dies, the pipe ends.
    for c in others:
        c.close()
    # A short-lived process: no cyclic GC (about 5% of its time under perf); its memory is
    # freed when it exits.
    gc.disable()
    parent = os.getppid()
    try:
        try:
            loaded = load_text(text, job.path)
        except InventoryError as exc:
            conn.send(exc)
            return
        conn.send(loaded.warnings)
        while not conn.poll(0.5):
            if os.getppid() != parent:
                return
        conn.send(_render_chunk(job, loaded, conn.recv(), parent))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # the parent is stopping or gone
    except Exception:
        conn.send(_Crash(traceback.format_exc()))


class _Workers:
    """One forked process per chunk, kept from the validation pass to the rendering pass."""

    def __init__(self, job: _Job, chunks: list[str]) -> None:
        ctx = mp.get_context("fork")
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for text in chunks:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(theirs, job, text, [*self.conns, mine]),
                               daemon=True)
            self.conns.append(mine)
            self.procs.append(proc)
            proc.start()
            theirs.close()

    def gather(self) -> list[Any]:
        out = []
        for conn, proc in zip(self.conns, self.procs, strict=True):
            try:
                got = conn.recv()
            except EOFError:
                proc.join(1)
                raise RuntimeError(f"a compile worker died (exit code {proc.exitcode})") \
                    from None
            if isinstance(got, _Crash):
                raise RuntimeError(f"a compile worker failed:\n{got.text}")
            out.append(got)
        return out

    def render(self, staging: Staging | None) -> None:
        """The inventory is valid: render (and write into `staging`)."""
        for conn in self.conns:
            conn.send(staging)

    def close(self, ok: bool) -> None:
        """Wait for the workers to exit; kill them first unless they finished. Either way none
        is left writing into the staging tree when this returns."""
        for proc in self.procs:
            if not ok:
                proc.kill()
            proc.join()
        for conn in self.conns:
            conn.close()


def _validated(job: _Job, items: list[tuple[int, int]], workers: _Workers) -> set[Problem]:
    """The first pass: every chunk validated by its worker, names compared across chunks
    meanwhile; the warnings, or InventoryError with every problem."""
    problems: set[Problem] = set(_duplicates(job, items))
    warnings: set[Problem] = set()
    for got in workers.gather():
        if isinstance(got, InventoryError):
            problems.update(got.problems)
        else:
            warnings.update(got)
    if problems:
        errors = sorted(problems | warnings)
        n = sum(p.severity == Severity.ERROR for p in errors)
        raise InventoryError(f"{job.path}: invalid inventory ({n} problem"
                             f"{'s' if n != 1 else ''}); nothing was written", errors)
    return warnings


def validate_inventory(inventory: str | Path) -> tuple[int, list[Problem]]:
    """What `rulegen validate` checks: exactly `generate`'s validation pass (in chunks, one
    process per core, for large inventories), without rendering. The number of services and
    the warnings, or InventoryError with every problem."""
    job, split = _prepare(inventory, ".", None, None)
    if split is None:
        loaded = load_text(job.text, job.path)
        return len(loaded.plans), loaded.warnings
    chunks, items = split
    workers = _Workers(job, chunks)
    try:
        return len(items), sorted(_validated(job, items, workers))
    finally:
        workers.close(False)


def _compile_parallel(job: _Job, chunks: list[str], items: list[tuple[int, int]],
                      stage: Callable[[], Staging] | None = None) -> _Merged:
    """Two passes: every chunk is validated, and only a valid inventory is rendered, by the
    same workers. With `stage` (generate), the staging tree is made after the first pass and
    the workers write into it."""
    workers = _Workers(job, chunks)
    ok = False
    try:
        warnings = _validated(job, items, workers)
        staging = stage() if stage is not None else None
        workers.render(staging)
        results: list[_Chunk] = workers.gather()
        ok = True
    finally:
        workers.close(ok)
    merged = _Merged([], {}, None, {}, [])
    for chunk in results:
        loaded = chunk.loaded
        if isinstance(loaded, OSError):  # only a worker that writes can get one
            assert staging is not None
            raise staging.failed(loaded)
        assert isinstance(loaded, Loaded)
        if loaded.inventory:  # every chunk carries the same header, output: included
            merged.settings = loaded.inventory.output
        merged.plans += loaded.plans
        merged.files.update(chunk.files)
        merged.states.update(chunk.states)
        merged.classes += chunk.classes
        merged.services += chunk.services
        merged.alerts += chunk.alerts
    merged.warnings = sorted(warnings)
    return merged


@dataclass
class _Merged:
    plans: list[ServicePlan]  # empty when the workers wrote the files (and mimir is off)
    files: dict[str, str]
    settings: OutputSettings | None
    states: dict[str, State]
    classes: list[ClassPart]  # in chunk order
    warnings: list[Problem] = field(default_factory=list)
    services: int = 0
    alerts: int = 0

    def loaded(self, path: str) -> Loaded:
        return Loaded(path, None, self.plans, self.warnings, None)


_NAME = re.compile(r"^(\s*-?\s*)name:\s*(['\"]?)([^'\"#]*?)\2\s*(#.*)?$")


def _duplicates(job: _Job, items: list[tuple[int, int]]) -> list[Problem]:
    """Names given twice or differing only in case across chunks, worded and placed exactly
    as the loader does (`loader.ServiceNames`)."""
    lines = job.text.split("\n")
    names = ServiceNames()
    out = []
    for lo, hi in items:
        indent = len(lines[lo]) - len(lines[lo].lstrip(" -"))
        for i in range(lo, hi):
            m = _NAME.match(lines[i])
            if m and len(m.group(1)) == indent:
                name, col = m.group(3), m.end(1) + len("name:") + 1
                col += len(lines[i][col - 1:]) - len(lines[i][col - 1:].lstrip())
                clash = names.add(name, lo + 1)
                if clash:
                    out.append(Problem(job.path, i + 1, col, clash))
                break
    return out
