"""inventory -> plans -> rendered files: the whole compile step, in memory."""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path

from rulegen.errors import Problem
from rulegen.loader import Loaded, load_inventory
from rulegen.model import ServicePlan
from rulegen.render import Renderer


@dataclass(frozen=True)
class Output:
    loaded: Loaded
    files: dict[str, str]  # path relative to the output directory -> text

    @property
    def warnings(self) -> list[Problem]:
        return self.loaded.warnings


def rules_path(runtime: str, service: str) -> str:
    return f"rules/{runtime}/{service}.yml"


def compile_inventory(inventory: str | Path, out: str | Path,
                      templates: str | Path | None = None) -> Output:
    loaded = load_inventory(inventory)
    # The header names the inventory relative to the output's parent, so the bytes do not
    # depend on the directory rulegen was run from.
    source = Path(os.path.relpath(Path(inventory).resolve(), Path(out).resolve().parent))
    renderer = Renderer(templates)
    texts = _render_all(renderer, loaded.plans, source.as_posix())
    files = {rules_path(p.runtime, p.name): t for p, t in zip(loaded.plans, texts, strict=True)}
    return Output(loaded, dict(sorted(files.items())))


# Rendering is CPU-bound and per service independent: large inventories use every core.
# Workers are forked so they inherit the plans instead of receiving them pickled.
_PARALLEL_FROM = 400
_job: tuple[Renderer, list[ServicePlan], str] | None = None


def _render_chunk(bounds: tuple[int, int]) -> list[str]:
    assert _job is not None
    renderer, plans, source = _job
    return [renderer.rule_file(p, source) for p in plans[bounds[0]:bounds[1]]]


def _render_all(renderer: Renderer, plans: list[ServicePlan], source: str) -> list[str]:
    global _job
    workers = min(os.cpu_count() or 1, 8)
    if len(plans) < _PARALLEL_FROM or workers < 2 or "fork" not in mp.get_all_start_methods():
        return [renderer.rule_file(p, source) for p in plans]
    _job = (renderer, plans, source)
    try:
        size = -(-len(plans) // (workers * 4))
        chunks = [(i, min(i + size, len(plans))) for i in range(0, len(plans), size)]
        with mp.get_context("fork").Pool(workers) as pool:
            return [text for part in pool.map(_render_chunk, chunks) for text in part]
    finally:
        _job = None
