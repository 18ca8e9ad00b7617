"""A prototype of the class layout, for bench/cost.py: one rule file per class of services with
identical settings, made from rulegen's per-service rule files. Not part of rulegen.

Issue 10 asks for the generated rules to cost a real Prometheus at most twice the seed
article's three fleet-wide rules. The per-service layout evaluates about eight rules per
service, and measured Prometheus's CPU goes per rule evaluation, not per sample read
(bench/README.md). This prototype measures the layout that would remove that cost, before
rulegen's templates, proofs and lint are rebuilt for it:

- Services whose rule files are the same text once the service's name is taken out (same
  runtime, convention, thresholds, windows, limit, owner and routing labels), and whose selector
  names the service by one equality matcher whose value is the service's name (`job="svc-0001"`),
  form a class. Others keep their own file (none in bench/cost.py's fleet).
- The class's file is its first member's file with that matcher a regex over the members
  (`job=~"svc-0001|svc-0003"`), the `service` label taken from the matcher's label
  (`label_replace`) instead of a static label, recorded series tagged `rulegen_class` and
  selected by it (without a class tag, by `service=~` over the members: a postings lookup per
  member and block), and the service's name in annotations `{{ $labels.service }}`.
- `absent_over_time` cannot tell which member is missing, so each class records its members
  (`rulegen:class_member`, one series per member) and the telemetry alert is "a member
  without samples in the window".

With `slopes`, each class also records the slopes its alerts read (`rulegen:<signal>:deriv_1h`,
`deriv_2h`: `deriv()` over the recorded troughs, once per evaluation), and the alerts read
those instead of computing `deriv()` over hours of troughs in every alert (`deriv(x[1h] offset
1h)` becomes `rulegen:<signal>:deriv_1h offset 1h`: the same value, recorded an hour earlier by
the same group).

Series and alerts keep the labels of the per-service layout, so the recorded series go on from
the per-service ones' history, and bench/cost.py compares the alerts both layouts raise (by
alert name, service and state) on the same fleet.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import yaml

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")  # no regex metacharacter: the prototype's members
_ABSENT = re.compile(r"^absent_over_time\((.+)\[(\w+)\]\)$", re.S)
_DERIV = re.compile(r"deriv\((rulegen:(\w+):gc_trough)(\{[^}]*\})\[(\w+)\]( offset \w+)?\)")


def _header_free(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def selector_label(text: str, name: str) -> str:
    """The label of the equality matcher whose value is the service's name (not `service`)."""
    labels = {m for m in re.findall(rf'(\w+)="{re.escape(name)}"', text) if m != "service"}
    if len(labels) != 1:
        raise ValueError(f"{name}: selected by {sorted(labels) or 'no'} matcher(s) with its "
                         "name; the prototype needs exactly one")
    return str(labels.pop())


def _members_expr(members: list[str], label: str) -> str:
    """One series per member, {service=m, <label>=m}: `or` in a balanced tree (a chain of n
    `or`s copies the growing left side n times)."""
    one = 'label_replace(label_replace(vector(1), "service", "{m}", "", ""), "{l}", "{m}", "", "")'
    if len(members) == 1:
        return one.format(m=members[0], l=label)
    half = len(members) // 2
    left, right = _members_expr(members[:half], label), _members_expr(members[half:], label)
    return f"({left})\n  or ({right})"


def _recorded_slopes(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules with every deriv() over recorded troughs read from a recording rule of its own,
    put after the last recording rule."""
    slopes: dict[str, str] = {}  # recorded name -> expression

    def use(m: re.Match[str]) -> str:
        trough, signal, sel, window, offset = m.groups()
        name = f"rulegen:{signal}:deriv_{window}"
        slopes.setdefault(name, f"deriv({trough}{sel}[{window}])")
        return f"{name}{sel}{offset or ''}"

    out = [{**r, "expr": _DERIV.sub(use, str(r["expr"]))} if "alert" in r else r for r in rules]
    last = max(i for i, r in enumerate(out) if "record" in r)
    return [*out[:last + 1],
            *({"record": n, "expr": e} for n, e in sorted(slopes.items())),
            *out[last + 1:]]


def class_rules_of(rep: str, members: list[str], label: str, rules: list[dict[str, Any]],
                   slopes: bool = False, cls: str = "") -> list[dict[str, Any]]:
    """The rules of a class from its first member's (rep's) rules; `label` is the selector
    label whose value is the service's name. With cls, recorded series carry rulegen_class=cls
    and are selected by it (one postings lookup) instead of by `service=~` over the members
    (one per member and block)."""
    alt = "|".join(members)
    mine = f'rulegen_class="{cls}"' if cls else f'service=~"{alt}"'
    tag = {"rulegen_class": cls} if cls else {}
    out: list[dict[str, Any]] = [{"record": "rulegen:class_member",
                                  "expr": _members_expr(members, label),
                                  **({"labels": dict(tag)} if tag else {})}]

    def widen(expr: str) -> str:
        if cls:  # the limit series: every service's, joined on the pod labels
            expr = expr.replace(f', service="{rep}"}}', "}")
        return (expr.replace(f'{label}="{rep}"', f'{label}=~"{alt}"')
                .replace(f'service="{rep}"', mine))

    def named(expr: str) -> str:  # `service` from the selector's label, as the static label was
        return f'label_replace(\n  {expr},\n  "service", "$1", "{label}", "(.*)"\n)'

    for r in rules:
        r = dict(r)
        expr = str(r["expr"]).strip()
        labels = {k: v for k, v in (r.get("labels") or {}).items() if k != "service"}
        absent = _ABSENT.match(expr)
        if "record" in r:
            labels.update(tag)  # deriv() keeps it: the slopes are selected by it too
        if absent and "alert" in r:
            sel, window = widen(absent.group(1)), absent.group(2)
            r["expr"] = (f"rulegen:class_member{{{mine}}}\nunless on (service)\n"
                         + named(f"group by ({label}) (count_over_time({sel}[{window}]))"))
        else:
            r["expr"] = named(widen(expr))
        if labels:
            r["labels"] = labels
        else:
            r.pop("labels", None)
        if r.get("annotations"):
            r["annotations"] = {k: str(v).replace(rep, "{{ $labels.service }}")
                                for k, v in r["annotations"].items()}
        out.append(r)
    return _recorded_slopes(out) if slopes else out


def _renamed(rules: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Recorded names (and what reads them) under prefix instead of `rulegen:`."""
    def ren(text: str) -> str:
        return re.sub(r"(?<![\w:])rulegen:", prefix + ":", text)

    return [{**r, "expr": ren(str(r["expr"])),
             **({"record": ren(r["record"])} if "record" in r else {})} for r in rules]


def write_renamed(rule_files: list[Path], out_dir: Path, prefix: str) -> list[Path]:
    """Copies of `rule_files` in out_dir (`<folder>-<name>`) with every recorded name under
    prefix instead of `rulegen:` (bench/cost.py measures layouts on one TSDB)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in rule_files:
        target = out_dir / f"{path.parent.name}-{path.name}"
        data = yaml.safe_load(path.read_text())
        for g in data["groups"]:
            g["rules"] = _renamed(g["rules"], prefix)
        target.write_text(yaml.safe_dump(data, sort_keys=False, width=1 << 16))
        written.append(target)
    return written


def write_classes(rule_files: list[Path], out_dir: Path, slopes: bool = False,
                  prefix: str = "rulegen") -> list[Path]:
    """The class layout of rulegen's rule files (its rules/ tree) in out_dir; returns the
    files written. Files of no service (rules/limits/) are copied. With prefix, every recorded
    name is `<prefix>:...` instead of `rulegen:...` (bench/cost.py measures the layouts on one
    TSDB: their recorded series must not mix)."""
    services: dict[str, tuple[Path, str]] = {}  # canonical text -> first member
    members: dict[str, list[str]] = {}
    singles: list[Path] = []
    texts = {path: path.read_text() for path in sorted(rule_files)}
    for path, text in texts.items():
        groups = yaml.safe_load(text).get("groups") or []
        name = str(groups[0]["name"]).removeprefix("rulegen.") if len(groups) == 1 else ""
        if path.parent.name == "limits" or not _NAME.match(name) or name.startswith("limit."):
            singles.append(path)
            continue
        canon = path.parent.name + "\n" + _header_free(text).replace(name, "@S@")
        services.setdefault(canon, (path, name))
        members.setdefault(canon, []).append(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = write_renamed(singles, out_dir, prefix)
    for canon, (path, rep) in sorted(services.items(), key=lambda kv: kv[1][1]):
        group = yaml.safe_load(texts[path])["groups"][0]
        label = selector_label(texts[path], rep)
        digest = hashlib.sha256(canon.encode()).hexdigest()[:8]
        cls = f"{path.parent.name}-{digest}{'-slopes' if slopes else ''}"
        rules = class_rules_of(rep, members[canon], label, group["rules"], slopes, cls)
        data = {"groups": [{"name": f"rulegen.class.{cls}", "rules": _renamed(rules, prefix)}]}
        target = out_dir / f"class-{cls}.yml"
        target.write_text(f"# Prototype class layout (bench/class_rules.py): {len(members[canon])} "
                          f"services like {rep}\n"
                          + yaml.safe_dump(data, sort_keys=False, width=1 << 16))
        written.append(target)
    return written
