"""Output targets besides the plain Prometheus rule files, composed from those files' text.

- `prometheus`: `rules/<runtime>/<service>.yml`, rendered by the templates (Prometheus, Thanos
  Ruler). Always written: the generated promtool tests load them.
- `operator`: a prometheus-operator `PrometheusRule` per service at
  `operator/<runtime>/<service>.yaml`: the plain file's header, then the object, with the plain
  file's `groups:` block indented under `spec:` line by line.
- `mimir`: Mimir/Cortex ruler namespace files for `mimirtool rules load` at
  `mimir/<namespace>.yml`: `namespace:` and the groups of every service in it, sorted by name.
  One namespace per owner unless `output.mimir.namespace` names one for all.

Every function here is pure: the same plain files and settings give the same bytes, so the
targets are deterministic and covered by drift detection like the plain files. The text is
composed rather than re-serialised, so expressions and quoting stay exactly as rendered.
This module imports nothing heavy: the CLI reads TARGETS from it at start-up.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from rulegen.errors import UserError
from rulegen.text import yaml_string

if TYPE_CHECKING:
    from rulegen.inventory import MimirSettings, OperatorSettings, OutputSettings

TARGETS = ("prometheus", "operator", "mimir")  # as rulegen.inventory.Target, in this order

API_VERSION = "monitoring.coreos.com/v1"
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_FILE_STEM = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,98}[a-z0-9])?$")
_ITEM = re.compile(r"^( *)-( |$)")


class TargetError(UserError):
    """A rule file (from overridden templates) whose shape a target cannot be composed from."""


def chosen(settings: OutputSettings | None, override: Sequence[str] | None = None
           ) -> tuple[str, ...]:
    """The targets to write: `override` (the --target flags) if given, else the inventory's
    `output.targets`; `prometheus` always. In TARGETS order, each once."""
    wanted = set(override) if override else set(settings.targets if settings else ())
    unknown = wanted - set(TARGETS)
    if unknown:
        raise UserError(f"unknown output target {sorted(unknown)[0]!r}; "
                        f"choose from {', '.join(TARGETS)}")
    return tuple(t for t in TARGETS if t == "prometheus" or t in wanted)


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"y", "yes", "n", "no", "true", "false", "on", "off", "null"}


def _key(value: str) -> str:
    """A mapping key: plain when no YAML reader could take it for anything but a string."""
    plain = _PLAIN_KEY.match(value) and value.lower() not in _YAML_WORDS
    return value if plain else yaml_string(value)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def operator_name(service: str) -> str:
    """`rulegen-<service>` when that is a valid object name (a DNS-1123 subdomain of at most
    253 characters); otherwise a lower-cased slug plus a hash of the service name, so two
    services never share a name (e.g. `Cart` and `cart`)."""
    name = f"rulegen-{service}"
    if len(name) <= 253 and _SUBDOMAIN.match(name):
        return name
    slug = re.sub(r"[^a-z0-9]+", "-", service.lower()).strip("-")[:236].rstrip("-")
    return f"rulegen-{slug or 'service'}-{_digest(service)}"


def operator_path(runtime: str, service: str) -> str:
    return f"operator/{runtime}/{service}.yaml"


def _split(text: str, where: str) -> tuple[list[str], list[str]]:
    """A plain rule file's leading comment lines, and the rest (its `groups:` mapping)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        i += 1
    body = lines[i:]
    if not body or not re.match(r"^groups:(\s|$)", body[0]) or any(
            ln and not ln[0].isspace() and not ln.startswith(("#", "- ")) and ln != "-"
            for ln in body[1:]):
        raise TargetError(f"{where}: cannot compose the operator/mimir targets from this rule "
                          "file: it must be comment lines, then a `groups:` mapping and nothing "
                          "else at the top level (check overridden templates)")
    return lines[:i], body


def operator_file(rules: str, service: str, settings: OperatorSettings | None,
                  where: str = "rule file") -> str:
    """The PrometheusRule of one service, from the text of its plain rule file."""
    header, body = _split(rules, where)
    meta = [f"  name: {yaml_string(operator_name(service))}"]
    if settings and settings.namespace:
        meta.append(f"  namespace: {yaml_string(settings.namespace)}")
    if settings and settings.labels:
        meta.append("  labels:")
        meta += [f"    {_key(k)}: {yaml_string(v)}" for k, v in sorted(settings.labels.items())]
    return "\n".join([
        *header,
        f"apiVersion: {API_VERSION}",
        "kind: PrometheusRule",
        "metadata:",
        *meta,
        "spec:",
        *(f"  {ln}" if ln else ln for ln in body),
    ])


def mimir_namespace(owner: str, settings: MimirSettings | None) -> str:
    return settings.namespace if settings and settings.namespace else owner


def mimir_path(namespace: str) -> str:
    """`mimir/<namespace>.yml`; a namespace that is not a plain lower-case file name becomes a
    slug plus a hash of the namespace, so namespaces never share a file."""
    if _FILE_STEM.match(namespace):
        return f"mimir/{namespace}.yml"
    slug = re.sub(r"[^a-z0-9]+", "-", namespace.lower()).strip("-")[:80].rstrip("-")
    return f"mimir/{slug or 'namespace'}-{_digest(namespace)}.yml"


def _group_items(rules: str, where: str) -> str:
    """The `groups:` list items of a plain rule file, re-indented to two spaces ("" if none)."""
    _, body = _split(rules, where)
    inline = body[0][len("groups:"):].split("#", 1)[0].strip()
    if inline == "[]":
        return ""
    items = body[1:]
    while items and not items[-1].strip():
        items.pop()
    first = next((ln for ln in items if ln.strip() and not ln.lstrip().startswith("#")), "")
    m = None if inline else _ITEM.match(first)
    if m is None:
        raise TargetError(f"{where}: cannot compose the mimir target from this rule file: "
                          "`groups:` must be a block list (`- name: ...` lines)")
    shift = 2 - len(m.group(1))
    if shift >= 0:
        return "\n".join(" " * shift + ln if ln else ln for ln in items)
    return "\n".join(ln[min(-shift, len(ln) - len(ln.lstrip(" "))):] for ln in items)


LIMITS_NAMESPACE = "rulegen-limits"


def mimir_files(services: Iterable[tuple[str, str, str, str]],
                settings: MimirSettings | None, source: str,
                limits: Iterable[tuple[str, str, str]] = ()) -> dict[str, str]:
    """Ruler namespace files from (owner, group, path, text) of every plain rule file of
    services (a service's, a rule class's and its members'), and (group, path, text) of every
    fleet limit file: those in a namespace of their own (another group: safe on a sharded
    ruler, the alerts read the limit's last evaluation)."""
    by_ns: dict[str, list[tuple[str, str]]] = {}
    for owner, group, path, rules in services:
        by_ns.setdefault(mimir_namespace(owner, settings), []).append(
            (group, _group_items(rules, path)))
    for group, path, rules in limits:
        by_ns.setdefault(mimir_namespace(LIMITS_NAMESPACE, settings), []).append(
            (group, _group_items(rules, path)))
    files: dict[str, str] = {}
    for ns, groups in sorted(by_ns.items()):
        path = mimir_path(ns)
        if path in files:  # two namespaces whose hashes collide: refuse rather than merge
            raise TargetError(f"mimir: namespace {ns!r} and another one map to the file {path}")
        n = len(groups)
        blocks = [text for _, text in sorted(groups) if text]
        files[path] = "\n".join([
            f"# Generated by rulegen from {source} (Mimir ruler namespace {yaml_string(ns)}, "
            f"{n} group{'s' if n != 1 else ''}). DO NOT EDIT.",
            f"# Change the inventory or templates/ and run: rulegen generate {source}",
            "# Upload with: mimirtool rules load <this file> (or: mimirtool rules sync)",
            f"namespace: {yaml_string(ns)}",
            "groups:" if blocks else "groups: []",
            *blocks,
        ]) + "\n"
    return files
