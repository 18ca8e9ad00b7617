"""Command line: the only place that prints, catches UserError, and picks exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from rulegen import __version__
from rulegen.errors import ExitCode, InventoryError, Problem, Severity, UserError
from rulegen.targets import TARGETS

if TYPE_CHECKING:
    from rulegen.cache import ProofCache
    from rulegen.prove import Proof, ProveProgress, ServiceResult

DEFAULT_OUT = "rules_out"


def progress_printer() -> Callable[[int, int], None] | None:
    """The one-line progress counter of an interactive terminal; None in CI or in a pipe,
    where `progress()` prints plain lines instead."""
    if os.environ.get("CI") or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\rproving: {done}/{total} test files", nl=done == total, err=True)

    return show


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@contextlib.contextmanager
def progress() -> Iterator[ProveProgress]:
    """Progress on stderr while a command runs: the counter on an interactive terminal, else
    a line per proof class as it is proved and a heartbeat after RULEGEN_PROGRESS_INTERVAL seconds
    (30) of silence (rulegen/progress.py)."""
    from rulegen.progress import LineProgress, TerminalProgress, interval_from_env

    show = progress_printer()
    if show is not None:
        yield TerminalProgress(show)
        return
    try:
        interval = interval_from_env(os.environ)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with LineProgress(_stderr_line, interval) as line_progress:
        yield line_progress


def _emit_problems(problems: list[Problem]) -> None:
    for p in sorted(problems):
        prefix = "" if p.severity == Severity.ERROR else f"{p.severity}: "
        if prefix:
            text = str(p)
            head, _, msg = text.partition(": ")
            click.echo(f"{head}: {prefix}{msg}", err=True)
        else:
            click.echo(str(p), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="rulegen")
def cli() -> None:
    """Compile a service inventory into Prometheus memory-leak alert rules, and prove them.

    \b
    Exit codes:
      0  success
      1  findings: failing generated tests, drift, lint or promtool check errors
      2  bad input or usage: the inventory (file:line:col messages) or arguments
      3  promtool is missing, older than 2.42.0, broken (crashed, killed, or a
         pass that did not report every file it was given) or timed out
      4  the output could not be written (rules_out/ is left as it was)
      70 internal error in rulegen (a bug: please report it with the traceback)
    """


inventory_arg = click.argument("inventory", type=click.Path(dir_okay=False, path_type=Path))
out_opt = click.option("--out", "-o", default=DEFAULT_OUT, show_default=True,
                       type=click.Path(file_okay=False, path_type=Path),
                       help="Output directory (owned by rulegen: rebuilt on every run).")
templates_opt = click.option("--templates", "-t", default=None,
                             type=click.Path(file_okay=False, exists=True, path_type=Path),
                             help="Folder of templates that override the built-in ones by name.")
target_opt = click.option("--target", "targets", multiple=True, type=click.Choice(TARGETS),
                          help="Output target, repeatable; overrides output.targets of the "
                               "inventory. prometheus (rules/) is always written.")


@cli.command()
@inventory_arg
@out_opt
@templates_opt
@target_opt
def generate(inventory: Path, out: Path, templates: Path | None,
             targets: tuple[str, ...]) -> None:
    """Write rule files for every service of INVENTORY into --out.

    \b
    Example:
      rulegen generate examples/otel-demo/inventory.yaml --out rules_out
      rulegen generate inventory.yaml --target prometheus --target operator
    """
    from rulegen.generate import generate_tree

    written = generate_tree(inventory, out, templates, targets)
    _emit_problems(written.warnings)
    state = "written" if written.changed else "unchanged"
    click.echo(f"{out}: {written.files} files for {written.services} services, "
               f"{written.alerts} alert families ({state})")


FORMATS = ["auto", "text", "json", "junit", "github"]
format_opt = click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto",
                          show_default=True,
                          help="Report format on stdout; auto is github under GitHub Actions, "
                               "else text. An invalid inventory is reported in it too.")
cache_dir_opt = click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path), envvar="RULEGEN_CACHE_DIR",
    default=None, help="Keep passing promtool results in this folder (also RULEGEN_CACHE_DIR) "
                       "and re-prove only what changed; not inside --out. Default: no cache. "
                       "docs/cache.md.")
no_cache_opt = click.option("--no-cache", is_flag=True,
                            help="Prove everything, neither reading nor writing the cache "
                                 "(overrides --cache-dir and RULEGEN_CACHE_DIR).")
cache_prune_opt = click.option("--cache-prune", is_flag=True,
                               help="After a complete run, delete the cache entries it did not "
                                    "use (the cache then holds only this output's results).")


def _cache_dir(cache_dir: Path | None, no_cache: bool, prune: bool) -> Path | None:
    """The cache folder to use, None for none; --cache-prune without a cache is a usage error
    (there is nothing it could prune)."""
    if no_cache:
        return None
    if prune and cache_dir is None:
        raise click.UsageError("--cache-prune needs --cache-dir DIR (or RULEGEN_CACHE_DIR)")
    return cache_dir


def _cache_report(cache: ProofCache | None, proof: Proof | None) -> None:
    """The cache's warnings and what it did, on stderr."""
    if cache is None:
        return
    for warning in cache.warnings:
        click.echo(f"rulegen: warning: {warning}", err=True)
    if cache.enabled and proof is not None:
        tests = sum(s.test_file is not None for s in proof.services)
        click.echo(f"rulegen: {cache.summary(tests, len(proof.checks))}", err=True)


fail_on_opt = click.option("--fail-on", type=click.Choice(["info", "warning", "error"]),
                           default="error", show_default=True,
                           help="Lowest severity that makes the command exit 1.")


@cli.command()
@inventory_arg
@format_opt
def validate(inventory: Path, fmt: str) -> None:
    """Check INVENTORY only: every problem as file:line:col: message. Writes nothing.

    \b
    Example:
      rulegen validate examples/otel-demo/inventory.yaml
      rulegen validate inventory.yaml --format github
    """
    from rulegen.generate import validate_inventory

    with _reporting(fmt, "rulegen validate", inventory):
        services, warnings = validate_inventory(inventory)  # generate's own validation pass
    summary = f"{inventory}: {services} services, valid"
    if _format(fmt) == "text":
        _emit_problems(warnings)
        click.echo(summary)
        return
    _report(warnings, fmt, "rulegen validate", [str(inventory)])
    click.echo(summary, err=True)


@cli.command("test")
@inventory_arg
@out_opt
@format_opt
@click.option("--promtool", "promtool_path", default=None, envvar="PROMTOOL",
              help="promtool binary (default: $PROMTOOL, PATH, then .tools/bin/promtool).")
@cache_dir_opt
@no_cache_opt
@cache_prune_opt
def test_cmd(inventory: Path, out: Path, fmt: str, promtool_path: str | None,
             cache_dir: Path | None, no_cache: bool, cache_prune: bool) -> None:
    """Prove the rules in --out: promtool check rules, then every generated promtool test.

    Each proof class (services whose rules differ only in identity values, docs/classes.md)
    is proved once, on its canonical rule file, and every service's rule file is checked to be
    that file with its own values. Prints one line per class, naming its services, and
    promtool's own text for every failure; with --format
    json/junit/github the findings (junit: every generated case) instead, on stdout.

    \b
    Example:
      rulegen generate examples/otel-demo/inventory.yaml && \\
        rulegen test examples/otel-demo/inventory.yaml
      rulegen test inventory.yaml --cache-dir .rulegen-cache   # re-prove what changed
    """
    from rulegen import promtool
    from rulegen.cache import ProofCache, check_location
    from rulegen.check import promtool_problems
    from rulegen.loader import load_inventory
    from rulegen.prove import prove

    cache_dir = _cache_dir(cache_dir, no_cache, cache_prune)
    cache = None
    with _reporting(fmt, "rulegen test", inventory), progress() as say:
        if cache_dir is not None:
            check_location(cache_dir, out)
        say.stage(f"validating {inventory}")
        loaded = load_inventory(inventory)  # an invalid inventory: exit 2, before promtool
        settings = loaded.inventory.output if loaded.inventory else None
        pt = promtool.find_promtool(promtool_path)
        cache = ProofCache(cache_dir, pt) if cache_dir is not None else None
        proof = prove(out, pt, progress=say, tests_expected=settings.tests if settings else True,
                      cache=cache)
        if cache is not None and cache_prune and proof.checks:
            cache.prune()
    _cache_report(cache, proof)
    if _format(fmt) != "text":
        problems = sorted([*loaded.warnings, *promtool_problems(proof)])
        _report(problems, fmt, "rulegen test", [c.file for c in proof.checks], proof.services)
        click.echo(f"rulegen test: {_proof_summary(proof, not proof.ok)}", err=True)
        if not proof.ok:
            raise click.exceptions.Exit(ExitCode.FINDINGS)
        return
    for c in proof.checks:
        if not c.ok or c.lint:
            click.echo(f"{c.file}: promtool check rules failed:", err=True)
            for line in (*c.errors, *c.lint):
                click.echo(f"  {line}", err=True)
    for s in proof.services:
        click.echo(_service_text(s))
        for f in s.failures:
            click.echo(f.text, err=True)
    _emit_problems(proof.problems)
    click.echo(_proof_summary(proof, not proof.ok))
    if not proof.ok:
        raise click.exceptions.Exit(ExitCode.FINDINGS)


def _service_text(s: ServiceResult) -> str:
    from rulegen.progress import service_line

    if s.test_file is None and s.ok:
        return f"{s.service}: promtool check rules ok; no generated tests (output.tests is false)"
    return service_line(s)


def _proof_summary(proof: Proof, failed: bool, findings: str | None = None) -> str:
    """`14 services, 463 cases, promtool 2.42.0: passed`."""
    from rulegen.report import format_summary

    return format_summary(services=proof.service_count, classes=proof.classes,
                          cases=proof.cases,
                          failed=proof.failed_cases, not_run=proof.not_run,
                          promtool_version=".".join(map(str, proof.tool.version)),
                          findings=findings, ok=not failed,
                          cached=proof.cached if proof.cache_used else None,
                          proved=proof.proved)


def _format(fmt: str) -> str:
    from rulegen import report

    return report.pick_format(None if fmt == "auto" else fmt, os.environ, sys.stdout.isatty())


def _report(problems: list[Problem], fmt: str, suite: str, checked: list[str],
            services: list[ServiceResult] | None = None,
            fail_on: Severity = Severity.ERROR) -> None:
    from rulegen import report

    chosen = _format(fmt)
    if chosen == "text":
        text = report.format_text(problems,
                                  color=report.color_wanted(os.environ, sys.stdout.isatty()))
    elif chosen == "json":
        text = report.format_json(problems)
    elif chosen == "junit":
        text = report.format_junit(problems, suite, checked, services or (), fail_on)
    else:
        text = report.format_github(problems)
    if text:
        click.echo(text.rstrip("\n"))


@contextlib.contextmanager
def _reporting(fmt: str, suite: str, inventory: Path | None) -> Iterator[None]:
    """A command that stops on a UserError (an invalid inventory: exit 2; promtool unusable:
    exit 3) still writes its report in a machine format: the inventory's problems, each at its
    place, as findings of the check `inventory`, or the error as one finding. stderr gets the
    usual messages and the exit code stays (main() prints and exits)."""
    try:
        yield
    except UserError as exc:
        if _format(fmt) != "text":
            from rulegen.report import inventory_findings

            if isinstance(exc, InventoryError) and inventory is not None:
                found = inventory_findings(exc.problems, str(inventory), str(exc))
            else:
                check = "promtool" if exc.exit_code == ExitCode.PROMTOOL else "rulegen"
                found = exc.problems or [Problem("", 0, 0, str(exc), check)]
            _report(found, fmt, suite, [])
        raise


def _verdict(problems: list[Problem], fail_on: str, what: str,
             proof: Proof | None = None) -> None:
    """`rulegen check: 3 services, 100 cases, promtool 2.42.0; 1 warning: passed` on stderr,
    and exit 1 for findings at or above --fail-on."""
    from rulegen.check import failing

    counts = {s: sum(p.severity == s for p in problems) for s in Severity}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in
                        sorted(counts.items(), reverse=True) if n) or "no findings"
    bad = failing(problems, Severity[fail_on.upper()])
    if proof is not None:
        summary = _proof_summary(proof, bad, summary)
    else:
        summary += f": {'FAILED' if bad else 'passed'}"
    click.echo(f"rulegen {what}: {summary}", err=True)
    if bad:
        raise click.exceptions.Exit(ExitCode.FINDINGS)


@cli.command()
@inventory_arg
@click.argument("rule_files", nargs=-1, type=click.Path(dir_okay=False, exists=True,
                                                          path_type=Path))
@out_opt
@templates_opt
@target_opt
@format_opt
@fail_on_opt
@click.option("--promtool", "promtool_path", default=None, envvar="PROMTOOL",
              help="promtool binary (default: $PROMTOOL, PATH, then .tools/bin/promtool).")
@cache_dir_opt
@no_cache_opt
@cache_prune_opt
def check(inventory: Path, rule_files: tuple[Path, ...], out: Path, templates: Path | None,
          targets: tuple[str, ...], fmt: str, fail_on: str, promtool_path: str | None,
          cache_dir: Path | None, no_cache: bool, cache_prune: bool) -> None:
    """The CI gate: is --out what INVENTORY produces, does it load, do its tests pass?

    \b
    Runs, reporting every finding:
      1. inventory validation          (exit 2 when invalid)
      2. drift: committed --out vs what the inventory produces now
      3. promtool check rules, with its duplicate-rule lint
      4. the generated promtool tests (leaking cases fire, healthy ones stay silent)
      5. rulegen's own lint (docs/lint.md), also over RULE_FILES written by hand

    \b
    Example:
      rulegen check examples/otel-demo/inventory.yaml --out rules_out --format junit > report.xml
      rulegen check inventory.yaml --cache-dir .rulegen-cache --cache-prune   # CI, docs/cache.md
    """
    from rulegen.check import run_check

    cache_dir = _cache_dir(cache_dir, no_cache, cache_prune)
    with _reporting(fmt, "rulegen check", inventory), progress() as say:
        run = run_check(inventory, out, templates=templates, extra_rule_files=list(rule_files),
                        promtool_path=promtool_path, targets=targets, progress=say,
                        cache_dir=cache_dir, cache_prune=cache_prune)
    _cache_report(run.cache, run.proof)
    level = Severity[fail_on.upper()]
    _report(run.problems, fmt, "rulegen check", run.checked_files,
            run.proof.services if run.proof else None, level)
    _verdict(run.problems, fail_on, "check", run.proof)


@cli.command("lint")
@click.argument("rule_files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--inventory", "-i", type=click.Path(dir_okay=False, path_type=Path),
              help="Inventory for the checks that need one (GC periods, selectors).")
@format_opt
@fail_on_opt
def lint_cmd(rule_files: tuple[Path, ...], inventory: Path | None, fmt: str,
             fail_on: str) -> None:
    """Lint Prometheus rule files, generated or written by hand (checks: docs/lint.md).

    \b
    Example:
      rulegen lint my-alerts.yml --inventory inventory.yaml --format json
    """
    from rulegen import lint
    from rulegen.loader import load_inventory

    with _reporting(fmt, "rulegen lint", inventory):
        context = lint.inventory_context(load_inventory(inventory)) if inventory else None
    problems = lint.lint_files(rule_files, inventory_context=context)
    _report(problems, fmt, "rulegen lint", [str(p) for p in rule_files],
            fail_on=Severity[fail_on.upper()])
    _verdict(problems, fail_on, "lint")


@cli.command()
@inventory_arg
@out_opt
@templates_opt
@click.option("--base", default="HEAD", show_default=True,
              help="Git ref whose committed rule files are compared with the inventory now.")
@click.option("--markdown", is_flag=True, help="Markdown, ready to paste as a PR comment.")
def diff(inventory: Path, out: Path, templates: Path | None, base: str, markdown: bool) -> None:
    """Show alerts added, removed and changed per service since a git ref.

    Changes are semantic: thresholds, `for`, severity and routing labels, expressions,
    annotations and evaluation interval of each alert, identified by service and alert name.

    \b
    Example:
      rulegen diff examples/otel-demo/inventory.yaml --base origin/main --markdown
    """
    from rulegen import diff as d
    from rulegen.generate import compile_inventory

    now = compile_inventory(inventory, out, templates).files
    changes = d.compare(d.files_at(base, out), now)
    click.echo(d.format_markdown(changes, base) if markdown else d.format_text(changes))


@cli.command()
def schema() -> None:
    """Print the inventory's JSON Schema (from the same model the loader validates with).

    Point your editor at it with a modeline on the inventory's first line:
    `# yaml-language-server: $schema=docs/inventory.schema.json`

    \b
    Example:
      rulegen schema > docs/inventory.schema.json
    """
    import json

    from rulegen.inventory import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


def main(argv: list[str] | None = None) -> NoReturn:
    try:
        rc = cli.main(args=argv, prog_name="rulegen", standalone_mode=False)
    except UserError as exc:
        _emit_problems(exc.problems)
        if not exc.problems or str(exc) not in {str(p) for p in exc.problems}:
            click.echo(f"rulegen: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # a bug: keep the traceback, say so, and use its own exit code
        traceback.print_exc()
        click.echo("rulegen: internal error (this is a bug in rulegen; please report it)",
                   err=True)
        sys.exit(ExitCode.INTERNAL)
    # With standalone_mode=False click returns the code of a `raise Exit(code)` instead.
    sys.exit(rc if isinstance(rc, int) else ExitCode.OK)
