"""A result cache for the proof: passing promtool results, content-addressed (docs/cache.md).

`rulegen test` and `rulegen check` with `--cache-dir DIR` (or RULEGEN_CACHE_DIR) keep every
*passing* `promtool test rules` and `promtool check rules` result in DIR, under a key that is
the SHA-256 of everything that decides it:

- the cache format, rulegen's version and the source of rulegen/promtool.py and
  rulegen/rulefile.py (which decide what counts as a verified pass);
- promtool's `--version` line and the SHA-256 of the promtool file that runs;
- for a test file: its text, and each of its `rule_files` entries as written with the text
  of every file it resolves to (relative to the test file's folder, globs expanded);
- for a rule file: the command (`check rules --lint=duplicate-rules`) and its text;
- for rulegen's own lint of a rule file (`rulegen check` only): the source of rulegen's lint
  and of the readers it uses, the promql-parser version, the file's whole text and path, and
  the inventory facts the lint's checks read (rulegen/lint/runner.py, `_inputs`). Only a file
  without findings is kept, with the keys of its rules that the duplicate check compares
  across files.

A file's text is taken from its first line that is neither blank nor a comment: the comment
block a file starts with (rulegen's header, which names the inventory and the service's line
in it, so a line added above a service would change every later service's files) is no YAML and
cannot change what promtool does. Comments further down are kept: inside a block scalar a `#`
line is text. File paths are not part of a key either, so a cache outlives a move of the
output.
A later run looks each key up; a hit is taken as that file's result and promtool is not run
for it. A failure is never stored, so it is always re-run. Every entry carries its own key, kind
and a digest of its result: an entry that is truncated, corrupt, from another format or stored
under another key is ignored (the file is proved again and the entry overwritten). Entries are
written to a temporary file and renamed into place, so concurrent runs sharing a folder only
ever see whole entries; two runs storing the same key store the same bytes.

The cache never makes a run fail: a folder that cannot be written only turns storing off (one
warning). It grows by one small file (under 1 KB) per changed rule or test file and run;
`--cache-prune` deletes, after a complete run, every entry that run did not use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import hashlib
import importlib.metadata
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rulegen import __version__
from rulegen.errors import UserError
from rulegen.lint.files import LintedFile, RuleKey
from rulegen.promtool import CheckResult, Promtool, TestResult

ENV = "RULEGEN_CACHE_DIR"
FORMAT = 1
FOLDER = f"v{FORMAT}"  # entries live in DIR/v1/; a new format gets a folder of its own
_ENTRY_RE = re.compile(r"^(test|check|lint|lintset)-[0-9a-f]{64}\.json$")
_TMP_PREFIX = ".tmp-"
_BREAKS = ("\u0085".encode(), "\u2028".encode(), "\u2029".encode())
_MAX_ENTRY = 1 << 20  # bytes; a passing result is a few hundred
_STALE_TMP = 3600.0  # seconds after which a temporary file is a killed run's leftover

_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by rulegen (its proof cache).\n"
        "# For information about cache directory tags see https://bford.info/cachedir/\n")


@dataclass
class Stats:
    """What a run did with the cache; `ignored` counts corrupt or foreign entries."""

    test_hits: int = 0
    check_hits: int = 0
    lint_hits: int = 0
    lint_lookups: int = 0
    stored: int = 0
    ignored: int = 0
    pruned: int = 0


def _field(h: Any, label: str, data: bytes) -> None:
    """One length-prefixed field of a key: no two different inputs hash the same bytes."""
    h.update(f"{label}:{len(data)}:".encode())
    h.update(data)


def content(data: bytes) -> bytes:
    """A file's bytes from its first line that is neither blank nor a full-line comment: at the
    start of a YAML stream such lines are always comments (no block scalar can be open). A line
    holding a character YAML 1.1 also breaks lines at (U+0085, U+2028, U+2029) ends the skip:
    what follows it may be YAML to promtool's parser."""
    start = 0
    for line in data.splitlines(keepends=True):
        stripped = line.strip()
        if (stripped and not stripped.startswith(b"#")) or any(b in line for b in _BREAKS):
            break
        start += len(line)
    return data[start:]


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# The modules that decide what a verified pass is: promtool.py reads and checks promtool's
# report, rulefile.py counts the rules a `check rules` pass must report, slices.py decides
# which rules each test group runs against.
_VERIFIERS = ("promtool.py", "rulefile.py", "slices.py")


def _rulegen_identity() -> str:
    """rulegen's version and the digest of the code that decides what a pass is."""
    h = hashlib.sha256()
    for name in _VERIFIERS:
        try:
            _field(h, name, Path(__file__).with_name(name).read_bytes())
        except OSError:
            _field(h, name, b"unreadable")
    return f"rulegen {__version__} verifiers:{h.hexdigest()}"


def _lint_identity() -> str:
    """The digest of the code that decides a lint result: rulegen/lint/ and the readers it
    uses, and the PromQL parser's version."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted((here / "lint").glob("*.py")) + [here / n for n in _LINT_READERS]:
        try:
            _field(h, path.name, path.read_bytes())
        except OSError:
            _field(h, path.name, b"unreadable")
    try:
        parser = importlib.metadata.version("promql-parser")
    except importlib.metadata.PackageNotFoundError:
        parser = "unknown"
    return f"lint:{h.hexdigest()} promql-parser {parser}"


_LINT_READERS = ("yamlpos.py", "rulefile.py", "errors.py")


def check_location(cache_dir: Path, out: Path) -> None:
    """UserError (exit 2) for a cache folder inside the output folder (owned by rulegen and
    drift-checked: an entry there would be an extra file) or the output folder inside it."""
    cache, owned = cache_dir.resolve(), out.resolve()
    if cache == owned or owned in cache.parents:
        raise UserError(f"--cache-dir {cache_dir} is inside the output folder {out}/, which "
                        "rulegen owns and checks for drift; put the cache elsewhere, e.g. "
                        "--cache-dir .rulegen-cache")
    if cache in owned.parents:
        raise UserError(f"--cache-dir {cache_dir} contains the output folder {out}/; use a "
                        "folder of its own, e.g. --cache-dir .rulegen-cache")


class ProofCache:
    """The cache folder of one run, for one promtool. Thread-safe: `prove` stores from the
    threads that run promtool."""

    def __init__(self, root: Path, pt: Promtool) -> None:
        self.root = root
        self.folder = root / FOLDER
        self.stats = Stats()
        self.warnings: list[str] = []
        self._used: set[str] = set()
        self._kinds: set[str] = set()  # test, check, lint: the kinds of key this run made
        self._lock = threading.Lock()
        self._writable = True
        if root.exists() and not root.is_dir():
            raise UserError(f"--cache-dir {root}: exists and is not a folder")
        try:
            binary = _sha256_file(pt.path)
        except OSError as exc:  # cannot tell which promtool runs: a key would be a guess
            binary = None
            self.warnings.append(f"cache {root} not used: cannot read {pt.path} to tell "
                                 f"which promtool it is ({exc.strerror or exc})")
        self.enabled = binary is not None
        self._identity = (f"format {FORMAT}\0{_rulegen_identity()}\0"
                          f"{pt.version_text}\0sha256:{binary}").encode()
        self._lint_identity: bytes | None = None

    # --- keys ------------------------------------------------------------------------------

    def _hasher(self, kind: str) -> Any:
        h = hashlib.sha256()
        _field(h, "identity", self._identity)
        _field(h, "kind", kind.encode())
        return h

    def test_key(self, test: Path, doc: Any) -> str | None:
        """The key of `promtool test rules <test>`; None when it cannot be known (the file
        does not parse, a rule file does not read, a pattern matches nothing): not cached."""
        self._kinds.add("test")
        if not self.enabled or not isinstance(doc, dict):
            return None
        entries = doc.get("rule_files")
        if not isinstance(entries, list) or not entries:
            return None
        h = self._hasher("test rules")
        try:
            _field(h, "test", content(test.read_bytes()))
            for entry in entries:
                if not isinstance(entry, str):
                    return None
                pattern = os.path.join(test.parent, entry)  # as promtool resolves it
                paths = sorted(glob.glob(pattern)) if glob.has_magic(entry) else [pattern]
                if not paths:
                    return None
                _field(h, "entry", entry.encode())
                for p in paths:
                    _field(h, "name", os.path.relpath(p, test.parent).encode())
                    _field(h, "rules", content(Path(p).read_bytes()))
        except OSError:
            return None
        return f"test-{h.hexdigest()}"

    def check_key(self, rules: Path, lint: str) -> str | None:
        """The key of `promtool check rules --lint=<lint> <rules>`."""
        self._kinds.add("check")
        if not self.enabled:
            return None
        h = self._hasher(f"check rules --lint={lint}")
        try:
            _field(h, "rules", content(rules.read_bytes()))
        except OSError:
            return None
        return f"check-{h.hexdigest()}"

    def lint_key(self, inputs: list[tuple[str, bytes]], *, lookup: bool = True) -> str | None:
        """The key of rulegen's lint of one file, from what decides it (`inputs`, given by
        rulegen/lint/runner.py). promtool plays no part: a lint entry outlives a new promtool.
        `lookup=False`: the same file keyed again, not counted as another lookup."""
        if not self.enabled:
            return None
        with self._lock:
            if self._lint_identity is None:
                self._lint_identity = f"format {FORMAT}\0{_lint_identity()}".encode()
            self.stats.lint_lookups += lookup
            self._kinds.add("lint")
        h = hashlib.sha256()
        _field(h, "identity", self._lint_identity)
        _field(h, "kind", b"lint")
        for label, data in inputs:
            _field(h, label, data)
        return f"lint-{h.hexdigest()}"

    def lint_set_key(self, keys: list[str]) -> str:
        """The key of the lint of a whole run's files, from their `lint_key`s in order (each
        names its file and all that decides its result; the checks across files read nothing
        else)."""
        self._kinds.add("lintset")
        h = hashlib.sha256()
        _field(h, "kind", b"lint set")
        for key in keys:
            _field(h, "file", key.encode())
        return f"lintset-{h.hexdigest()}"

    # --- entries ---------------------------------------------------------------------------

    def _read(self, key: str) -> dict[str, Any] | None:
        """The result stored under key, or None: missing, or corrupt or foreign (counted)."""
        path = self.folder / f"{key}.json"
        try:
            with open(path, "rb") as fh:
                raw = fh.read(_MAX_ENTRY + 1)
        except OSError:
            return None
        result: Any = None
        try:
            entry: Any = json.loads(raw) if len(raw) <= _MAX_ENTRY else None
            if isinstance(entry, dict) and isinstance(entry.get("result"), dict):
                result = entry["result"]
                if not (entry.get("format") == FORMAT and entry.get("key") == key
                        and entry.get("digest") == _digest(result) and _valid(key, result)):
                    result = None
        except (ValueError, UnicodeDecodeError, TypeError, RecursionError):
            result = None
        if result is None:
            with self._lock:
                self.stats.ignored += 1
            return None
        return dict(result)

    def _write(self, key: str, result: dict[str, Any], about: str) -> None:
        entry = {"format": FORMAT, "key": key, "about": about, "result": result,
                 "digest": _digest(result)}
        data = json.dumps(entry, indent=1, sort_keys=True).encode() + b"\n"
        with self._lock:
            if not self._writable:
                return
            self._used.add(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tag = self.root / "CACHEDIR.TAG"
            if not tag.exists():
                self._atomic(tag, _TAG.encode())
            self._atomic(self.folder / f"{key}.json", data)
        except OSError as exc:
            with self._lock:
                if self._writable:
                    self._writable = False
                    self.warnings.append(f"cache {self.root} not written, results not kept: "
                                         f"{exc.strerror or exc}")
            return
        with self._lock:
            self.stats.stored += 1

    def _atomic(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        try:
            with contextlib.suppress(OSError):  # mkstemp's 0600 would hide it from a CI user
                os.fchmod(fd, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _about(self, kind: str, file: str) -> str:
        return f"{kind} {file}; {self._identity.decode().replace(chr(0), '; ')}"

    def _hit(self, key: str, kind: str) -> dict[str, Any] | None:
        """The result stored under a key of `kind` (test, check, lint), counted as a hit."""
        result = self._read(key)
        if result is None or not key.startswith(f"{kind}-"):
            return None
        with self._lock:
            self._used.add(key)
            setattr(self.stats, f"{kind}_hits", getattr(self.stats, f"{kind}_hits") + 1)
        return result

    def get_test(self, key: str, file: str) -> TestResult | None:
        """The cached pass of `promtool test rules <file>` (its text re-pointed at `file`)."""
        result = self._hit(key, "test")
        if result is None:
            return None
        output = result["output"]
        if result["file"] != file:
            output = output.replace(result["file"], file)
        return TestResult(file, True, (), output)

    def put_test(self, key: str, result: TestResult) -> None:
        """Keep a passing test result; a failure is never kept."""
        if result.ok and not result.failures:
            self._write(key, {"ok": True, "file": result.file, "output": result.output},
                        self._about("test rules", result.file))

    def get_check(self, key: str, file: str) -> CheckResult | None:
        result = self._hit(key, "check")
        return None if result is None else CheckResult(file, True, result["rules"], (), ())

    def put_check(self, key: str, result: CheckResult) -> None:
        """Keep a clean pass (no errors, no lint or warnings, its rule count known)."""
        if result.ok and not result.errors and not result.lint and result.rules is not None:
            self._write(key, {"ok": True, "file": result.file, "rules": result.rules},
                        self._about("check rules", result.file))

    def get_lint(self, key: str, file: str) -> LintedFile | None:
        """A file the lint found nothing in, with its rules' keys (for the checks across
        files)."""
        result = self._hit(key, "lint")
        if result is None:
            return None
        return LintedFile(file, keys=[RuleKey(kind, name, tuple(map(tuple, labels)), *rest)
                                      for kind, name, labels, *rest in result["keys"]],
                          checked=[])

    def put_lint(self, key: str, f: LintedFile) -> None:
        """Keep a file the lint found nothing in (no finding is ever kept)."""
        if not f.problems and f.checked == []:
            keys = [dataclasses.astuple(k) for k in f.keys]  # JSON: tuples become lists
            self._write(key, {"ok": True, "file": f.path, "keys": keys}, self._lint_about(f.path))

    def get_lint_set(self, key: str, keys: list[str]) -> bool:
        """Whether a run over the files of `keys` found nothing before: then each file's entry
        counts as used (kept by --cache-prune, for the run after a change) and as a hit."""
        result = self._read(key)
        if result is None or not key.startswith("lintset-") or result["files"] != len(keys):
            return False
        with self._lock:
            self._used.add(key)
            self._used.update(keys)
            self.stats.lint_hits += len(keys)
        return True

    def put_lint_set(self, key: str, files: int) -> None:
        """Keep that a run over `files` rule files found nothing."""
        what = f"{files} rule files"
        self._write(key, {"ok": True, "file": what, "files": files}, self._lint_about(what))

    def _lint_about(self, what: str) -> str:
        return f"lint {what}; {(self._lint_identity or b'').decode().replace(chr(0), '; ')}"

    # --- pruning ---------------------------------------------------------------------------

    def prune(self) -> int:
        """Delete the entries of DIR/v1/ this run did not use, of the kinds it looked up (a
        `rulegen test` keeps the lint's entries), and temporary files older than an hour (a
        killed run's). Nothing else in DIR is touched. Returns how many went."""
        removed = 0
        now = time.time()
        try:
            names = os.listdir(self.folder)
        except OSError:
            return 0
        for name in names:
            path = self.folder / name
            try:
                if name.startswith(_TMP_PREFIX):
                    if now - path.stat().st_mtime < _STALE_TMP:
                        continue  # another run's entry being written
                elif (not _ENTRY_RE.match(name) or name[:-5] in self._used
                      or name.split("-", 1)[0] not in self._kinds):
                    continue  # used, not an entry, or of a kind this run did not look up
                path.unlink()
                removed += 1
            except OSError:
                continue
        self.stats.pruned += removed
        return removed

    def summary(self, test_files: int, rule_files: int) -> str:
        """`cache .rulegen-cache: 12/14 test files and 14/14 rule files from the cache, ...`;
        with the lint (rulegen check): `12/14 test files, 14/14 rule files and 14/14 lint
        results from the cache, ...`."""
        s = self.stats
        files = [f"{s.test_hits}/{test_files} test files",
                 f"{s.check_hits}/{rule_files} rule files"]
        if s.lint_lookups:
            files.append(f"{s.lint_hits}/{s.lint_lookups} lint results")
        parts = [f"{', '.join(files[:-1])} and {files[-1]} from the cache",
                 f"{s.stored} result{'s' if s.stored != 1 else ''} stored"]
        if s.ignored:
            parts.append(f"{s.ignored} corrupt or foreign entr{'ies' if s.ignored != 1 else 'y'}"
                         " ignored")
        if s.pruned:
            parts.append(f"{s.pruned} unused entr{'ies' if s.pruned != 1 else 'y'} pruned")
        return f"cache {self.root}/: {', '.join(parts)}"


def _valid_rule_key(k: Any) -> bool:
    """[kind, name, [[label, value], ...], line, key line, key column, suffix]"""
    return (isinstance(k, list) and len(k) == 7 and k[0] in ("alert", "record")
            and isinstance(k[1], str) and isinstance(k[6], str)
            and isinstance(k[2], list) and all(
                isinstance(kv, list) and len(kv) == 2 and all(isinstance(x, str) for x in kv)
                for kv in k[2])
            and all(isinstance(n, int) and not isinstance(n, bool) for n in k[3:6]))


def _digest(result: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()


def _valid(key: str, result: dict[str, Any]) -> bool:
    """The fields a passing result of key's kind has, with their types."""
    if result.get("ok") is not True or not isinstance(result.get("file"), str):
        return False
    if key.startswith("test-"):
        return isinstance(result.get("output"), str)
    if key.startswith("lintset-"):
        files = result.get("files")
        return isinstance(files, int) and not isinstance(files, bool) and files >= 0
    if key.startswith("lint-"):
        keys = result.get("keys")
        return isinstance(keys, list) and all(_valid_rule_key(k) for k in keys)
    rules = result.get("rules")
    return isinstance(rules, int) and not isinstance(rules, bool) and rules >= 0
