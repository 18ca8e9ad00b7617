"""Command line: the only place that prints, catches UserError, and picks exit codes."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import NoReturn

import click

from rulegen import __version__
from rulegen.errors import ExitCode, Problem, Severity, UserError

DEFAULT_OUT = "rules_out"


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
      3  promtool is missing, broken or timed out
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


@cli.command()
@inventory_arg
@out_opt
@templates_opt
def generate(inventory: Path, out: Path, templates: Path | None) -> None:
    """Write rule files for every service of INVENTORY into --out.

    \b
    Example:
      rulegen generate examples/otel-demo/inventory.yaml --out rules_out
    """
    from rulegen.generate import compile_inventory
    from rulegen.writer import write_tree

    output = compile_inventory(inventory, out, templates)
    _emit_problems(output.warnings)
    changed = write_tree(out, output.files)
    n_alerts = sum(len(p.alerts) for p in output.loaded.plans)
    state = "written" if changed else "unchanged"
    click.echo(f"{out}: {len(output.files)} files for {len(output.loaded.plans)} services, "
               f"{n_alerts} alert families ({state})")


@cli.command()
@inventory_arg
def validate(inventory: Path) -> None:
    """Check INVENTORY only: every problem as file:line:col: message. Writes nothing.

    \b
    Example:
      rulegen validate examples/otel-demo/inventory.yaml
    """
    from rulegen.loader import load_inventory

    loaded = load_inventory(inventory)
    _emit_problems(loaded.warnings)
    click.echo(f"{inventory}: {len(loaded.plans)} services, valid")


@cli.command("test")
@inventory_arg
@out_opt
@click.option("--promtool", "promtool_path", default=None, envvar="PROMTOOL",
              help="promtool binary (default: $PROMTOOL, PATH, then .tools/bin/promtool).")
def test_cmd(inventory: Path, out: Path, promtool_path: str | None) -> None:
    """Prove the rules in --out: promtool check rules, then every generated promtool test.

    Prints one line per service and alert family, and promtool's own text for every failure.

    \b
    Example:
      rulegen generate examples/otel-demo/inventory.yaml && \\
        rulegen test examples/otel-demo/inventory.yaml
    """
    from rulegen import promtool
    from rulegen.loader import load_inventory
    from rulegen.prove import prove

    load_inventory(inventory)  # an invalid inventory is exit 2, before promtool is needed
    pt = promtool.find_promtool(promtool_path)
    proof = prove(out, pt)
    for c in proof.checks:
        if not c.ok or c.lint:
            click.echo(f"{c.file}: promtool check rules failed:", err=True)
            for line in (*c.errors, *c.lint):
                click.echo(f"  {line}", err=True)
    for s in proof.services:
        name = Path(s.rules_file).stem
        status = "ok" if s.ok else f"FAILED ({len(s.failures)} failing)"
        click.echo(f"{name}: {s.cases} cases {status}")
        for f in s.failures:
            click.echo(f.text, err=True)
    _emit_problems(proof.problems)
    verdict = "passed" if proof.ok else "FAILED"
    click.echo(f"{len(proof.services)} services, {proof.cases} cases, promtool "
               f"{'.'.join(map(str, pt.version))}: {verdict}")
    if not proof.ok:
        raise click.exceptions.Exit(ExitCode.FINDINGS)


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
