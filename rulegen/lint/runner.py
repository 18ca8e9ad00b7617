"""Run the registered checks over rule files: load -> check each rule -> check all files.

With a cache (rulegen/cache.py, `rulegen check --cache-dir`), a file whose clean result is
cached is not read again: the per-rule checks found nothing in it, and the checks across files
get its rules' keys from the entry. What decides a file's result is in `_inputs`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rulegen.errors import Problem
from rulegen.lint.context import InventoryContext, ServiceFacts
from rulegen.lint.files import LintedFile, origin_of, read_rule_file
from rulegen.lint.registry import FILES_CHECKS, RULE_CHECKS

if TYPE_CHECKING:
    from rulegen.cache import ProofCache


def run(files: list[LintedFile], inventory: InventoryContext | None) -> list[Problem]:
    problems: list[Problem] = []
    rule_checks = [c for c in RULE_CHECKS.values() if inventory or not c.NEEDS_INVENTORY]
    for f in files:
        if f.checked is None:
            f.checked = [p for rule in f.rules for check in rule_checks
                         for p in check.check(rule)]
        problems += f.checked
    for files_check in FILES_CHECKS.values():
        if inventory or not files_check.NEEDS_INVENTORY:
            problems.extend(files_check.check_files(files))
    return sorted(problems)


def lint_files(paths: Iterable[str | os.PathLike[str]], *,
               inventory_context: InventoryContext | None = None,
               scrape_interval: int = 60, cache: ProofCache | None = None) -> list[Problem]:
    """Every problem in the rule files at `paths`, sorted. `scrape_interval` (seconds) applies
    to rules whose service the inventory context does not name. With a `cache`, files whose
    clean result it holds are not read again, and new clean results are stored in it."""
    seen: dict[tuple[str, str], str] = {}  # origin_of's answers per folder
    if cache is None or not cache.enabled:
        files = [read_rule_file(str(p), inventory=inventory_context, scrape_s=scrape_interval,
                                seen=seen) for p in paths]
        return run(files, inventory_context)
    facts = _Facts(inventory_context)

    def key_of(p: str, lookup: bool = True) -> tuple[bytes | None, str | None]:
        try:
            data = Path(p).read_bytes()
        except OSError:
            return None, None
        return data, cache.lint_key(_inputs(p, data, facts, scrape_interval, seen),
                                    lookup=lookup)

    names = list(map(str, paths))
    keys = [key_of(p)[1] for p in names]
    # A run over the same files as a clean run before (the common CI run): one entry says so.
    known = [k for k in keys if k]
    whole = cache.lint_set_key(known) if names and len(known) == len(names) else None
    if whole and cache.get_lint_set(whole, known):
        return []
    files, fresh = [], []
    same = True  # every file is what its key says (none changed since it was keyed)
    for p, key in zip(names, keys, strict=True):
        hit = cache.get_lint(key, p) if key else None
        if hit is None:
            # read once more: the bytes of the key are the text linted
            data, again = key_of(p, lookup=False)
            same = same and again == key
            key = again
            try:
                text = data.decode("utf-8") if data is not None else None
            except UnicodeDecodeError:
                text = None  # read_rule_file reads it again and reports it
            f = read_rule_file(p, text, inventory=inventory_context, scrape_s=scrape_interval,
                               seen=seen)
            fresh.append((f, key))
        else:
            f = hit
        files.append(f)
    problems = run(files, inventory_context)
    for f, key in fresh:
        if key and not f.problems and not f.checked:
            cache.put_lint(key, f)
    if whole and same and not problems:
        cache.put_lint_set(whole, len(names))
    return problems


class _Facts:
    """The inventory context as key text: what the per-rule checks read of it."""

    def __init__(self, inventory: InventoryContext | None) -> None:
        self.inventory = inventory
        self.cwd = os.getcwd().encode()  # relative paths in findings resolve against it
        if inventory is None:
            self.shared = b"no inventory"
            return
        declared = sorted((label, sorted(d.equal), list(d.regexes))
                          for label, d in inventory.selector_values.items())
        self.shared = repr((declared, sorted(inventory.gauges))).encode()
        self._all: bytes | None = None

    def of(self, service: str | None) -> bytes:
        """One service's facts (a generated file names its service in its header); every
        service's when the file names none (its rules may each name one in a label)."""
        if self.inventory is None:
            return b""
        if service is not None:
            return _facts_text(self.inventory.services.get(service))
        if self._all is None:
            self._all = repr(sorted((name, _facts_text(f)) for name, f
                                    in self.inventory.services.items())).encode()
        return self._all


def _facts_text(f: ServiceFacts | None) -> bytes:
    if f is None:
        return b"undeclared"
    return repr((f.scrape_s, f.gc_s, f.selector, sorted(f.memory_metrics),
                 sorted(f.gauge_metrics))).encode()


def _inputs(path: str, data: bytes, facts: _Facts, scrape_s: int,
            seen: dict[tuple[str, str], str] | None = None) -> list[tuple[str, bytes]]:
    """Everything a file's lint result depends on, besides rulegen's lint code: the file's
    text and path (findings name it), where its header's inventory resolves to (findings name
    that too), the default scrape interval, and the inventory facts the checks read."""
    origin = origin_of(data.decode("utf-8", "replace"), path, seen)
    return [("path", path.encode()), ("cwd", facts.cwd), ("text", data),
            ("origin", str(origin).encode() if origin else b""),
            ("scrape", str(scrape_s).encode()), ("shared", facts.shared),
            ("service", facts.of(origin.service if origin else None))]


def lint_text(text: str, path: str = "<text>", *,
              inventory_context: InventoryContext | None = None,
              scrape_interval: int = 60) -> list[Problem]:
    """Lint rule-file text that is not on disk (stdin, tests)."""
    files = [read_rule_file(path, text, inventory=inventory_context, scrape_s=scrape_interval)]
    return run(files, inventory_context)
