"""Every alert family's cases, by family id: the module that holds them and its `groups`."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from rulegen.cases import limit_forecast, limit_ratio, memory_growth, telemetry_missing
from rulegen.cases.builder import CaseBuilder
from rulegen.cases.groups import Group
from rulegen.model import AlertPlan, ServicePlan
from rulegen.rulefile import RuleFile

MODULES: tuple[ModuleType, ...] = (memory_growth, limit_ratio, limit_forecast, telemetry_missing)
CASES: dict[str, Callable[[CaseBuilder], list[Group]]] = {
    family: module.groups for module in MODULES for family in module.FAMILIES}


def groups_for(plan: ServicePlan, alert: AlertPlan, rules: RuleFile) -> list[Group]:
    """The test groups of one alert of one service (before batching)."""
    return CASES[alert.family.id](CaseBuilder(plan, alert, rules))
