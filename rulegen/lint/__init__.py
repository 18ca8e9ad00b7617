"""rulegen's own lint of Prometheus rule files: one check per module, registered by ID.

Rule files -> `files.read_rule_file` (positions, header, parsed expr) -> each check of
`registry.CHECKS` -> sorted `Problem`s, which `rulegen.report` formats.
"""

from rulegen.lint.context import InventoryContext, RuleContext, ServiceFacts, inventory_context
from rulegen.lint.registry import CHECKS
from rulegen.lint.runner import lint_files, lint_text

__all__ = ["CHECKS", "InventoryContext", "RuleContext", "ServiceFacts", "inventory_context",
           "lint_files", "lint_text"]
