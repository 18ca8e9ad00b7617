"""Render service plans through the jinja2 templates into rule-file text.

The templates use `[[ ]]` and `[% %]` as jinja delimiters so that Prometheus's own
`{{ $labels.x }}` / `{{ $value }}` templates are plain text to jinja and pass through intact.
Inventory text reaches the output only through the filters of `rulegen.text` (`yq` for YAML
scalars, `label` for alert label values, `ann` inside annotations; PromQL strings are quoted by
`rulegen.promql`): it is written literally and never evaluated as a template.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import jinja2

from rulegen import recording
from rulegen.errors import UserError
from rulegen.layout import MEMBER_METRIC, Scope, class_group, members_expr, members_group
from rulegen.model import AlertPlan, ServicePlan
from rulegen.promql import Series, last_sample
from rulegen.recording import FleetLimit
from rulegen.text import annotation_text, label_value, yaml_string
from rulegen.units import format_duration, format_size

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"  # installed wheel
SOURCE_TEMPLATES = Path(__file__).parent.parent / "templates"  # source checkout


def builtin_templates() -> Path:
    return PACKAGE_TEMPLATES if PACKAGE_TEMPLATES.is_dir() else SOURCE_TEMPLATES


def yaml_map(key: str, items: Iterable[tuple[str, object]], indent: int,
             extra: dict[str, str] | None = None) -> str:
    """An alert's `labels:` block at `indent`, sorted, no trailing newline. Prometheus
    template-expands label values, so each is written as a literal label value."""
    pad = " " * indent
    pairs = sorted([*items, *(extra or {}).items()])
    return "\n".join([f"{pad}{key}:", *(f"{pad}  {k}: {label_value(v)}" for k, v in pairs)])


def link_lines(links: Iterable[tuple[str, str]], indent: int) -> str:
    """Annotation lines `<name>_url: "..."`: inventory text, so written literally."""
    return "".join(f"\n{' ' * indent}{k}_url: \"{annotation_text(v)}\"" for k, v in links)


def num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def rate_text(per_hour: float, unit: str) -> str:
    if unit == "B":
        return f"{format_size(per_hour)}B/h" if per_hour >= 1024 else f"{num(per_hour)}B/h"
    return f"{num(per_hour)}/h"


def rng(sel: str, window: int, offset: int = 0) -> str:
    """A range selector: `sel[window] offset o`."""
    off = f" offset {format_duration(offset)}" if offset else ""
    return f"{sel}[{format_duration(window)}]{off}"


class TemplateProblem(UserError):
    pass


def environment(override_dir: str | Path | None = None) -> jinja2.Environment:
    dirs = [str(override_dir)] if override_dir else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*dirs, str(builtin_templates())]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # templates do not change during a run: no stat() per include
        trim_blocks=True,
        lstrip_blocks=True,
        variable_start_string="[[",
        variable_end_string="]]",
        block_start_string="[%",
        block_end_string="%]",
        comment_start_string="[#",
        comment_end_string="#]",
    )
    env.filters.update(yq=yaml_string, ann=annotation_text, label=label_value,
                       dur=format_duration, num=num, size=format_size,
                       indent_lines=lambda s, n: s.replace("\n", "\n" + " " * n))
    env.globals.update(rng=rng, rate_text=rate_text, yaml_map=yaml_map,
                       link_lines=link_lines, last_sample=last_sample)
    return env


def _tests_for(plan: ServicePlan) -> Iterable[tuple[str, Series]]:
    used = {a.family.signal for a in plan.alerts if a.family.id != "telemetry-missing"}
    if plan.limit and plan.limit.kind == "runtime" and "runtime_limit" in plan.signals:
        used.add("runtime_limit")
    seen: set[str] = set()
    for name in ("heap", "resident", "runtime_used", "runtime_limit", "goroutines", "threads",
                 "handles"):
        s = plan.signals.get(name)
        if name in used and s and s.sel not in seen:
            seen.add(s.sel)
            yield name, s


class Renderer:
    def __init__(self, override_dir: str | Path | None = None) -> None:
        self.env = environment(override_dir)
        try:
            self.file_template = self.env.get_template("rules.yml.j2")
        except jinja2.TemplateError as exc:
            raise _template_error(exc) from None

    def rule_file(self, plan: ServicePlan, source: str, scope: Scope | None = None) -> str:
        """The rule file of one service, or (`scope` a rule class) of the class whose member
        `plan` is (rulegen/layout.py)."""
        who = scope or Scope(plan.name)
        seen = who.plan(plan)
        rec = recording.for_service(who.record_labels, seen.signals, seen.periods,
                                    {a.family.id: a.window_s for a in seen.alerts},
                                    seen.limit.kind if seen.limit else None, seen.eval_s)
        group = class_group(who.cls) if who.is_class else f"rulegen.{plan.name}"
        try:
            return self.file_template.render(
                svc=seen, alerts=seen.alerts, sig=seen.signals, limit=seen.limit,
                source=source, group=group, rec=rec, who=who,
                watched=list(_tests_for(seen)), AlertPlan=AlertPlan)
        except jinja2.TemplateError as exc:
            raise _template_error(exc) from None

    def members_file(self, scope: Scope, members: list[str], source: str,
                     interval: int | None) -> str:
        """A rule class's members, recorded (rulegen/layout.py), evaluated at the class's
        `interval` (None: Prometheus's global evaluation_interval)."""
        try:
            return self.env.get_template("members.yml.j2").render(
                who=scope, source=source, group=members_group(scope.cls),
                interval=interval,
                metric=MEMBER_METRIC, expr=members_expr(scope.label, members),
                count=len(members))
        except jinja2.TemplateError as exc:
            raise _template_error(exc) from None

    def limit_file(self, fleet: FleetLimit, source: str, interval: int | None = None,
                   peaks_every: int | None = None) -> str:
        """A fleet limit's recording, evaluated at `interval` (None: Prometheus's global
        evaluation_interval), reading peaks recorded at most `peaks_every` apart."""
        try:
            return self.env.get_template("limits.yml.j2").render(
                fleet=fleet, expr=fleet.expr(peaks_every), source=source,
                group=recording.limit_group(fleet.id), interval=interval,
                metric=recording.LIMIT_METRIC, label=recording.LIMIT_LABEL)
        except jinja2.TemplateError as exc:
            raise _template_error(exc) from None


def _template_error(exc: jinja2.TemplateError) -> TemplateProblem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        return TemplateProblem(f"{os.path.relpath(where)}: template error: {exc.message}")
    return TemplateProblem(f"template error: {exc}")
