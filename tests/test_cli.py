"""The documented exit codes, each one produced for real; --help shows an example everywhere."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rulegen import cli
from rulegen.errors import ExitCode
from tests.conftest import EXAMPLE, example_slice


def test_exit_0_generate(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    r = rulegen("generate", "inventory.yaml")
    assert (r.code, r.stderr) == (0, "")
    assert r.stdout.startswith("rules_out: ")


def test_exit_1_findings(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "inventory.yaml").write_text(example_slice("checkout"))
    assert rulegen("generate", "inventory.yaml").code == 0
    rule = tmp_path / "rules_out/rules/go/checkout.yml"
    rule.write_text(rule.read_text().replace("deriv(", "deriv((", 1))  # unbalanced PromQL
    r = rulegen("test", "inventory.yaml")
    assert r.code == ExitCode.FINDINGS
    assert "checkout.yml: promtool check rules failed" in r.stderr


def test_exit_2_bad_input(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "inv.yaml").write_text("services: 3\n")
    r = rulegen("generate", "inv.yaml")
    assert r.code == ExitCode.BAD_INPUT
    assert r.stderr.startswith("inv.yaml:1:11: services: expected a list, got the number 3")


def test_exit_3_promtool_unusable(tmp_path: Path, rulegen, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    monkeypatch.setenv("PROMTOOL", str(tmp_path / "no-such-promtool"))
    r = rulegen("test", "inventory.yaml")
    assert r.code == ExitCode.PROMTOOL
    assert "no-such-promtool" in r.stderr and "make bootstrap" in r.stderr


def test_exit_4_write_failed(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    (tmp_path / "blocker").write_text("a file where a directory is needed\n")
    r = rulegen("generate", "inventory.yaml", "--out", "blocker/rules_out")
    assert r.code == ExitCode.WRITE_FAILED
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("rulegen: blocker/rules_out: ")
    assert (tmp_path / "blocker").read_text() == "a file where a directory is needed\n"


def test_exit_70_internal_error_keeps_traceback(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("rulegen.generate.validate_inventory", boom)
    with pytest.raises(SystemExit) as exc:
        cli.main(["validate", str(EXAMPLE)])
    assert exc.value.code == ExitCode.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a bug" in err and "this is a bug" in err


def test_version(rulegen) -> None:  # type: ignore[no-untyped-def]
    r = rulegen("--version")
    assert (r.code, r.stdout.strip()) == (0, "rulegen, version 0.1.0")


@pytest.mark.parametrize("command", sorted(cli.cli.commands))
def test_every_command_help_shows_an_example(command: str, rulegen) -> None:  # type: ignore[no-untyped-def]
    r = rulegen(command, "--help")
    assert r.code == 0
    assert "Example" in r.stdout and f"rulegen {command}" in r.stdout


def test_progress_only_on_an_interactive_terminal(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    show = cli.progress_printer()
    assert show is not None
    show(1, 2)
    show(2, 2)
    assert capsys.readouterr().err == "\rproving: 1/2 test files\rproving: 2/2 test files\n"
    monkeypatch.setenv("CI", "true")
    assert cli.progress_printer() is None
    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stderr.isatty", lambda: False)
    assert cli.progress_printer() is None
