"""The registry: one ID per check, the same name in module, test file and docs/lint.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rulegen.errors import Severity
from rulegen.lint import CHECKS, lint_text
from rulegen.lint.registry import FILES_CHECKS, RULE_CHECKS

ROOT = Path(__file__).resolve().parents[2]
DOC_SECTIONS = re.findall(r"^## `([^`]+)`$", (ROOT / "docs" / "lint.md").read_text(), re.M)


def module_name(check_id: str) -> str:
    return check_id.replace("/", "_").replace("-", "_")


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_one_name_everywhere(check_id: str) -> None:
    check = CHECKS[check_id]
    assert check_id == check.ID
    assert getattr(check, "__name__", "") == f"rulegen.lint.{module_name(check_id)}"
    assert (ROOT / "tests" / "lint" / f"test_{module_name(check_id)}.py").is_file()
    assert check_id in DOC_SECTIONS
    assert isinstance(check.SEVERITY, Severity)
    assert check.DESCRIPTION and "\n" not in check.DESCRIPTION


def test_docs_have_no_section_for_a_check_that_does_not_exist() -> None:
    assert sorted(DOC_SECTIONS) == sorted(CHECKS)


def test_rule_and_files_checks_do_not_overlap() -> None:
    assert not set(RULE_CHECKS) & set(FILES_CHECKS)


def test_checks_that_need_an_inventory_stay_quiet_without_one() -> None:
    text = ("groups:\n- name: g\n  rules:\n  - {alert: A, expr: 'deriv(heap_bytes[1m]) > 0 "
            "and m{service_name=\"nope\"}', labels: {service: s}}\n")
    needs = {i for i, c in CHECKS.items() if c.NEEDS_INVENTORY}
    assert needs
    assert not {p.check for p in lint_text(text)} & needs
