"""inventory -> plans -> rendered files: the whole compile step, in memory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rulegen.errors import Problem
from rulegen.loader import Loaded, load_inventory
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
    files: dict[str, str] = {}
    for plan in loaded.plans:
        files[rules_path(plan.runtime, plan.name)] = renderer.rule_file(plan, source.as_posix())
    return Output(loaded, dict(sorted(files.items())))
