"""Render service plans through the jinja2 templates into rule-file text.

The templates use `[[ ]]` and `[% %]` as jinja delimiters so that Prometheus's own
`{{ $labels.x }}` / `{{ $value }}` templates are plain text to jinja and pass through intact.
Inventory text reaches the output only through the `yq`/`ann` filters, which quote it for YAML
and neutralise `{{` for Go templates: it is never evaluated as a template.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import jinja2

from rulegen.errors import UserError
from rulegen.model import AlertPlan, ServicePlan
from rulegen.promql import Series
from rulegen.units import format_duration, format_size

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"  # installed wheel
SOURCE_TEMPLATES = Path(__file__).parent.parent / "templates"  # source checkout


def builtin_templates() -> Path:
    return PACKAGE_TEMPLATES if PACKAGE_TEMPLATES.is_dir() else SOURCE_TEMPLATES


def go_escape(text: str) -> str:
    """Make `text` literal inside a Go (Prometheus) template."""
    return text.replace("{{", '{{ "{{" }}')


_PLAIN = re.compile(r'^[^"\\\x00-\x1f\x7f]*$')


def yq(value: object) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    text = str(value)
    if _PLAIN.match(text):  # the common case, and a measurable share of a 10k-service run
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)


def ann(text: object) -> str:
    """Inventory text for the inside of a double-quoted annotation: Go-escaped, YAML-escaped."""
    text = str(text)
    if _PLAIN.match(text) and "{{" not in text:
        return text
    return json.dumps(go_escape(text), ensure_ascii=False)[1:-1]


def yaml_map(key: str, items: Iterable[tuple[str, object]], indent: int,
             extra: dict[str, str] | None = None) -> str:
    """`key:` and its sorted `name: "value"` lines at `indent`, with no trailing newline."""
    pad = " " * indent
    pairs = sorted([*items, *(extra or {}).items()])
    return "\n".join([f"{pad}{key}:", *(f"{pad}  {k}: {yq(v)}" for k, v in pairs)])


def link_lines(links: Iterable[tuple[str, str]], indent: int) -> str:
    """Annotation lines `<name>_url: "..."`: inventory text, so Go-escaped."""
    return "".join(f"\n{' ' * indent}{k}_url: \"{ann(v)}\"" for k, v in links)


def num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def rate_text(per_hour: float, unit: str) -> str:
    if unit == "B":
        return f"{format_size(per_hour)}B/h" if per_hour >= 1024 else f"{num(per_hour)}B/h"
    return f"{num(per_hour)}/h"


def subquery(inner: str, window: int, step: int, offset: int = 0) -> str:
    off = f" offset {format_duration(offset)}" if offset else ""
    return f"{inner}[{format_duration(window)}:{format_duration(step)}]{off}"


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
    env.filters.update(yq=yq, ann=ann, dur=format_duration, num=num, size=format_size,
                       indent_lines=lambda s, n: s.replace("\n", "\n" + " " * n))
    env.globals.update(subquery=subquery, rate_text=rate_text, yaml_map=yaml_map,
                       link_lines=link_lines)
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

    def rule_file(self, plan: ServicePlan, source: str) -> str:
        try:
            return self.file_template.render(
                svc=plan, alerts=plan.alerts, sig=plan.signals, limit=plan.limit,
                source=source, group=f"rulegen.{plan.name}",
                watched=list(_tests_for(plan)), AlertPlan=AlertPlan)
        except jinja2.TemplateError as exc:
            raise _template_error(exc) from None


def _template_error(exc: jinja2.TemplateError) -> TemplateProblem:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        return TemplateProblem(f"{os.path.relpath(where)}: template error: {exc.message}")
    return TemplateProblem(f"template error: {exc}")
