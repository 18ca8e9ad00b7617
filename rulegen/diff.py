"""Semantic difference of alerts between a git ref and now, per service.

The base side is the rule files committed at the ref; the new side is what the inventory
produces now (so an inventory edit shows up before anyone regenerates). An alert is identified
by its service, alertname and `signal` label; a rule class's alert (output.layout: classes) is
each of its members' alert, its members' regex left out of the comparison (a service that joins
a class does not change the others' alerts).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rulegen import rulefile
from rulegen.errors import UserError
from rulegen.layout import (
    CLASS_LABEL,
    class_members,
    class_regex,
    is_class_file,
    members_rules_path,
)

Key = tuple[str, str, str]  # service, alertname, signal
_NUM = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?(?![\w.])")


@dataclass
class Change:
    key: Key
    kind: str  # added | removed | changed
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Alert:
    rule: rulefile.Rule
    interval: str  # its group's `interval:` ("": Prometheus's global evaluation_interval)


def alerts_of(files: Mapping[str, str]) -> dict[Key, Alert]:
    """The alerting rules of the rule files among `files` (paths under rules/), by key."""
    out: dict[Key, Alert] = {}
    for path, text in sorted(files.items()):
        if not path.startswith("rules/"):
            continue
        try:
            groups = rulefile.parse(text).groups
        except yaml.YAMLError as exc:  # a hand-edited committed file: the user's to mend
            raise UserError(f"{path}: not YAML, so its alerts cannot be compared: "
                            f"{str(exc).splitlines()[0]}") from None
        members = class_members(files.get(members_rules_path(Path(path).stem), "")) \
            if is_class_file(path) else []
        for group, rule in ((g, r) for g in groups for r in g.rules if r.is_alert):
            interval = str(group.data.get("interval") or "")
            if members:  # a rule class's file: each member's alerts, whoever else is in it
                cls = rule.labels.get(CLASS_LABEL, "")
                shared = dataclasses.replace(
                    rule, expr=rule.expr.replace(f'=~"{class_regex(members)}"',
                                                 '=~"<the class\'s services>"')
                    .replace(f'{CLASS_LABEL}="{cls}"', f'{CLASS_LABEL}="<the class>"'))
                for m in members:
                    out[(m, rule.name, rule.labels.get("signal", ""))] = Alert(shared, interval)
                continue
            key = (rule.labels.get("service", Path(path).stem), rule.name,
                   rule.labels.get("signal", ""))
            out[key] = Alert(rule, interval)
    return out


def _numbers(expr: str) -> list[str]:
    return _NUM.findall(expr)


def compare(base: Mapping[str, str], new: Mapping[str, str]) -> list[Change]:
    old_alerts, new_alerts = alerts_of(base), alerts_of(new)
    changes: list[Change] = []
    for key in sorted(set(old_alerts) | set(new_alerts)):
        old, cur = old_alerts.get(key), new_alerts.get(key)
        if old is None:
            changes.append(Change(key, "added", [f"for {_for(cur.rule)}" if cur else ""]))
        elif cur is None:
            changes.append(Change(key, "removed"))
        else:
            details = _details(old, cur)
            if details:
                changes.append(Change(key, "changed", details))
    return changes


def _for(rule: rulefile.Rule) -> str:
    return "0s" if rule.for_ is None else rule.for_


def _details(old_alert: Alert, cur_alert: Alert) -> list[str]:
    old, cur = old_alert.rule, cur_alert.rule
    details = []
    if old_alert.interval != cur_alert.interval:
        details.append(f"evaluated every {old_alert.interval or '(global interval)'} → "
                       f"{cur_alert.interval or '(global interval)'}")
    oe, ne = old.expr, cur.expr
    if oe != ne:
        on, nn = _numbers(oe), _numbers(ne)
        if _NUM.sub("#", oe) == _NUM.sub("#", ne) and len(on) == len(nn):
            pairs = sorted({(a, b) for a, b in zip(on, nn, strict=True) if a != b})
            details += [f"threshold {a} → {b}" for a, b in pairs]
        else:
            details.append("expression changed")
    if old.for_ != cur.for_:
        details.append(f"for {_for(old)} → {_for(cur)}")
    ol, nl = old.labels, cur.labels
    for name in sorted(set(ol) | set(nl)):
        if ol.get(name) != nl.get(name):
            what = "severity" if name == "severity" else f"label {name}"
            details.append(f"{what} {ol.get(name, '∅')} → {nl.get(name, '∅')}")
    oa, na = old.annotations, cur.annotations
    changed = sorted(n for n in set(oa) | set(na) if oa.get(n) != na.get(n))
    if changed:
        details.append(f"annotations changed: {', '.join(changed)}")
    return details


def files_at(ref: str, out: Path) -> dict[str, str]:
    """The rule files under `out` as committed at `ref`."""
    top = _git("rev-parse", "--show-toplevel").strip()
    rel = Path(out).resolve().relative_to(Path(top)).as_posix()
    listing = _git("ls-tree", "-r", "--name-only", ref, "--", f"{rel}/rules")
    files = {}
    for path in listing.splitlines():
        files[path[len(rel) + 1:]] = _git("show", f"{ref}:{path}")
    return files


def _git(*args: str) -> str:
    try:
        p = subprocess.run(["git", *args], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise UserError(f"git is needed for rulegen diff: {exc}") from None
    if p.returncode != 0:
        raise UserError(f"git {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def format_text(changes: list[Change]) -> str:
    if not changes:
        return "no alert changes"
    lines = []
    for c in changes:
        svc, name, signal = c.key
        sig = f" ({signal})" if signal else ""
        mark = {"added": "+", "removed": "-", "changed": "~"}[c.kind]
        lines.append(f"{mark} {svc}: {name}{sig} {c.kind}"
                     + (f": {'; '.join(d for d in c.details if d)}" if any(c.details) else ""))
    return "\n".join(lines)


def format_markdown(changes: list[Change], base: str) -> str:
    counts = {k: sum(c.kind == k for c in changes) for k in ("added", "removed", "changed")}
    head = (f"### rulegen: alert changes against `{base}`\n\n"
            f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} changed\n")
    if not changes:
        return head
    rows = ["| service | alert | change | details |", "|---|---|---|---|"]
    for c in changes:
        svc, name, signal = c.key
        alert = f"{name} ({signal})" if signal else name
        detail = "<br>".join(d for d in c.details if d).replace("|", "\\|")
        rows.append(f"| {svc} | {alert} | {c.kind} | {detail} |")
    return head + "\n" + "\n".join(rows) + "\n"
