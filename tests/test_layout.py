"""output.layout: classes (issue 10, rulegen/layout.py, docs/classes.md): services whose rules
differ only in their names share one rule file, each rule evaluated once for the class.

The class's file is proved on its canonical form (one member, a placeholder) by the real
promtool of both lines, like a proof class. What the canonical proof cannot show, that the
members of a class do not see each other's series, is shown here on the real class files: every
generated case, fed to two members at once, gives each member exactly its own alerts."""

from __future__ import annotations

import re
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from rulegen import generate, promtool
from rulegen.classes import Identity, read_index
from rulegen.generate import compile_inventory, generate_tree
from rulegen.writer import write_tree
from tests.conftest import DEFAULT_LINE, ROOT, line_binary

JOIN = "{source: metric, metric: cadvisor}"
INVENTORY = f"""version: 1
output: {{layout: classes, targets: [prometheus, operator, mimir]}}
defaults: {{owner: platform, convention: otel-semconv, memory_limit: {JOIN}}}
services:
  - {{name: svc-a, runtime: go}}
  - {{name: svc-b, runtime: nodejs}}
  - {{name: svc.c, runtime: go}}
  - {{name: svc-d, runtime: nodejs}}
  - {{name: svc-e, runtime: go, owner: other}}
  - {{name: svc-f, runtime: go, selector: {{job: svc-f}}}}
  - {{name: svc-g, runtime: go, alerts: {{memory-growth: {{threshold: 20MiB/h}}}}}}
"""


def _write(tmp_path: Path, text: str = INVENTORY) -> Path:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text)
    return inv


def _classes(out: Path) -> dict[str, list[str]]:
    """Each class file's members (from its members file), by file name."""
    found = {}
    for f in sorted((out / "rules" / "classes").glob("*.members.yml")):
        [group] = yaml.safe_load(f.read_text())["groups"]
        found[f.name.replace(".members", "")] = re.findall(r'\{service="([^"]*)"',
                                                           group["rules"][0]["expr"])
    return found


def test_services_with_the_same_rules_share_one_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate_tree(_write(tmp_path), out)
    # go: svc-a and svc.c share everything but the name; svc-e has another owner, svc-g
    # another threshold; svc-f names its selector itself, so it keeps its own file
    assert sorted(_classes(out).values()) == [["svc-a", "svc.c"], ["svc-b", "svc-d"],
                                              ["svc-e"], ["svc-g"]]
    go = next(n for n, m in _classes(out).items() if m == ["svc-a", "svc.c"])
    text = (out / "rules" / "classes" / go).read_text()
    assert 'go_memory_used_bytes{job=~"svc-a|svc\\\\.c"}' in text
    assert sorted(p.name for p in (out / "rules" / "go").glob("*.yml")) == ["svc-f.yml"]
    assert not (out / "rules" / "nodejs").exists()
    for name in _classes(out):
        cls = name.removesuffix(".yml")
        text = (out / "rules" / "classes" / name).read_text()
        rules = yaml.safe_load(text)["groups"][0]["rules"]
        alerts = [r for r in rules if "alert" in r]
        assert alerts and all(r["labels"]["rulegen_class"] == cls for r in alerts)
        assert all("service" not in r["labels"] for r in rules)  # from the series instead
        assert all("{{ $labels.service }}" in r["annotations"]["summary"] for r in alerts)
        assert all(r["labels"] == {"rulegen_class": cls} for r in rules if "record" in r)
        members = (out / "rules" / "classes" / f"{cls}.members.yml").read_text()
        assert members.count("absent(rulegen:no_series{") == len(_classes(out)[name])
        assert f'=~"{"|".join(_classes(out)[name])}"'.replace(".", "\\\\.") in text
        # the other targets carry the class and its members too
        assert (out / "operator" / "classes" / f"{cls}.yaml").is_file()
        assert (out / "operator" / "classes" / f"{cls}.members.yaml").is_file()
    mimir = (out / "mimir" / "platform.yml").read_text()
    assert mimir.count("rulegen.class.") == 2 * 3  # 3 classes of platform, with their members


def test_same_inventory_same_bytes_and_the_default_layout_is_unchanged(tmp_path: Path) -> None:
    inv = _write(tmp_path)
    first = compile_inventory(inv, tmp_path / "out").files
    assert compile_inventory(inv, tmp_path / "out").files == first
    per_service = compile_inventory(_write(tmp_path, INVENTORY.replace("layout: classes",
                                                                       "layout: service")),
                                    tmp_path / "out").files
    default = compile_inventory(_write(tmp_path, INVENTORY.replace("layout: classes, ", "")),
                                tmp_path / "out").files
    assert per_service == default
    assert not any(p.startswith("rules/classes/") for p in default)
    assert "rules/go/svc-a.yml" in default and "rules/go/svc-a.yml" not in first


@pytest.mark.parametrize("line", ["2.42", "3.5"])
def test_class_layout_is_proved_and_checked(tmp_path: Path, rulegen: Any, line: str) -> None:
    """`rulegen check`: the output is what the inventory gives, it lints clean, promtool
    checks it and every case passes on the class's canonical form."""
    path = line_binary(line, "promtool")
    _write(tmp_path)
    assert rulegen("generate", "inventory.yaml", "--out", "out").code == 0
    run = rulegen("check", "inventory.yaml", "--out", "out", "--promtool", path)
    assert run.code == 0, run.stdout + run.stderr
    assert "error:" not in run.stdout + run.stderr
    assert re.search(r"^rulegen check: .*\d+ cases, promtool [\d.]+.*: passed$", run.stderr,
                     re.M), run.stderr


def _members(out: Path) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """Each class file (rules/classes/...yml) -> (its test file, its identity values, its
    canonical rule file), from the index."""
    index = read_index(out)
    assert index is not None
    found = {}
    for c in index:
        for service, values in zip(c.services, c.identities, strict=True):
            if service.startswith("classes/") and values is not None:
                found[service] = (c.tests, values, c.rules or "")
    return found


def _twinned(canonical: str, a: tuple[str, ...], b: tuple[str, ...]) -> dict[str, Any]:
    """The canonical test file with every group fed to two members, `a` and `b` (their
    identity values): each group's series of both, and each expectation both members'. An
    expression that names a member (its pods) is checked for each member on its own."""
    da = yaml.safe_load(Identity(a).instantiate(canonical))
    db = yaml.safe_load(Identity(b).instantiate(canonical))
    for ga, gb in zip(da["tests"], db["tests"], strict=True):
        ga["input_series"] += gb["input_series"]
        for ta, tb in zip(ga.get("alert_rule_test", []), gb.get("alert_rule_test", []),
                          strict=True):
            ta["exp_alerts"] = (ta.get("exp_alerts") or []) + (tb.get("exp_alerts") or [])
        exprs = ga.get("promql_expr_test", [])
        for ta, tb in zip(list(exprs), gb.get("promql_expr_test", []), strict=True):
            if ta["expr"] == tb["expr"]:
                ta["exp_samples"] = (ta.get("exp_samples") or []) + (tb.get("exp_samples")
                                                                     or [])
            else:  # names the member's own series: both members' checks
                exprs.append(tb)
    return dict(da)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("layout")
    out = work / "out"
    generate_tree(_write(work), out)
    return out


def _run_twinned(out: Path, tmp_path: Path, cls: str, extra: list[str]
                 ) -> list[promtool.TestResult]:
    """Every case of class `cls` (two members in its real file) run for both members at once,
    with `extra` members that the cases feed nothing, in the class's real rule files."""
    test, values, _ = _members(out)[f"classes/{cls}"]
    canonical = (out / "tests" / test).read_text()
    members = values[1].replace("\\\\", "\\").split("|")
    assert len(members) == 2, members
    a, b = (values[:1] + (m.replace("\\.", "."),) + values[2:] for m in members)
    doc = _twinned(canonical, a, b)
    rules = out / "rules" / "classes" / f"{cls}.yml"
    member_file = out / "rules" / "classes" / f"{cls}.members.yml"
    if extra:  # the class's files with more members than the cases feed
        rules_text = rules.read_text().replace(f'=~"{values[1]}"',
                                               f'=~"{values[1]}|{"|".join(extra)}"')
        rules = tmp_path / "class.yml"
        rules.write_text(rules_text)
        text = member_file.read_text()
        term = re.search(r'absent\(rulegen:no_series\{service="svc-a", job="svc-a"\}\)', text)
        assert term, text
        more = " or ".join(term.group(0).replace('"svc-a"', f'"{e}"') for e in extra)
        member_file = tmp_path / "members.yml"
        member_file.write_text(text.replace(term.group(0), f"{term.group(0)} or {more}"))
    doc["rule_files"] = [str(rules), str(member_file),
                         *(str((out / "tests" / test).parent / f) for f in doc["rule_files"][2:])]
    path = tmp_path / "twinned.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, width=1 << 16))
    pt = promtool.find_promtool(line_binary(DEFAULT_LINE, "promtool"))
    return promtool.test_rules(pt, [path])


def test_two_members_each_get_exactly_their_own_alerts(generated: Path, tmp_path: Path
                                                       ) -> None:
    """Every generated case of the go class (svc-a, svc.c) and the nodejs one (svc-b, svc-d),
    fed to both members at once in the real class file: every expectation of both holds, so
    no alert of one member depends on, or crosses over to, the other's series."""
    twins = {k.removeprefix("classes/"): v for k, v in _members(generated).items()
             if "|" in v[1][1]}
    assert len(twins) == 2
    for cls in twins:
        results = _run_twinned(generated, tmp_path, cls, [])
        assert [r.failures for r in results] == [()], cls
        assert all(r.ok for r in results)


def test_a_member_without_telemetry_is_reported_alone(generated: Path, tmp_path: Path
                                                      ) -> None:
    """The control: a third member the cases feed nothing fails them, and only where its
    telemetry alert fires for it: the class records its members, and the alert names the
    one without samples."""
    cls = next(k.removeprefix("classes/") for k, v in _members(generated).items()
               if v[1][1] == "svc-a|svc\\\\.c")
    results = _run_twinned(generated, tmp_path, cls, ["svc-absent"])
    failures = [f for r in results for f in r.failures]
    assert failures and not any(r.ok for r in results)
    assert all(f.alertname == "LeakTelemetryMissing"
               or 'ALERTS{alertname="LeakTelemetryMissing"' in (f.expr or "") for f in failures)
    assert all('service="svc-absent"' in f.text for f in failures)


def test_parallel_class_layout_equals_serial(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A large inventory compiles in chunks (generate.py): a class's members come from several
    chunks, and its files are the serial run's."""
    sys.path.insert(0, str(ROOT / "bench"))
    from make_inventory import inventory

    text = inventory(1200, tests=False, targets=("prometheus", "operator", "mimir"))
    text = text.replace("output: {tests: false,", "output: {tests: false, layout: classes,")
    text = re.sub(r"\n    links: [^\n]*", "", text)  # a link per service: a class each
    inv = _write(tmp_path, text)
    if generate._workers() < 2:
        pytest.skip("one CPU (or no fork): generate compiles serially here")
    assert generate.split_services(text) is not None  # really parallel
    parallel = compile_inventory(inv, tmp_path / "out").files
    monkeypatch.setattr(generate, "_workers", lambda: 1)
    assert compile_inventory(inv, tmp_path / "out").files == parallel
    classes = [p for p in parallel if p.startswith("rules/classes/")
               and not p.endswith(".members.yml")]
    regexes = [re.findall(r'=~"([^"]*)"', parallel[p])[0] for p in classes]
    own = [p for p in parallel if re.match(r"rules/(?!classes/|limits/)", p)]
    # every service is in one class file or has its own; classes of several members exist
    assert sum(r.count("|") + 1 for r in regexes) + len(own) == 1200
    assert 0 < len(classes) < 1200 and max(r.count("|") for r in regexes) >= 2


def test_a_real_prometheus_loads_the_class_layout_healthy(prometheus_path: str,
                                                          tmp_path: Path) -> None:
    """The class layout in the real server of each line: every group (classes, members, a
    service alone, the limit) loads, every rule evaluates healthy, and the members recording
    has one series per member of the class files."""
    from tests.test_prometheus_server import Server, wait_for

    inv = _write(tmp_path)
    out = tmp_path / "rules_out"
    write_tree(out, compile_inventory(inv, out).files)
    dirs = sorted({p.parent.name for p in out.glob("rules/*/*.yml")})
    assert "classes" in dirs
    server = Server(prometheus_path, tmp_path, [f"{out}/rules/{d}/*.yml" for d in dirs])
    try:
        expected = {str(yaml.safe_load(p.read_text())["groups"][0]["name"])
                    for p in out.glob("rules/*/*.yml")}
        wait_for(lambda: set(server.rules()) == expected)
        wait_for(lambda: all(r["health"] == "ok" for g in server.rules().values() for r in g),
                 timeout=30)
        members = sum(len(m) for m in _classes(out).values())
        assert members > len(_classes(out))  # some class holds several services

        def recorded() -> int:
            q = urllib.parse.quote("count(rulegen:class_member)")
            result = server.get(f"/api/v1/query?query={q}")["data"]["result"]
            return int(result[0]["value"][1]) if result else 0

        wait_for(lambda: recorded() == members, timeout=30)
    finally:
        server.stop()


@pytest.mark.parametrize(("printed", "in_own_file"), [("svc.name", "svc-a"),
                                                    ("svc.line", "5")])
def test_a_template_that_prints_the_name_is_refused_in_the_class_layout(
        tmp_path: Path, rulegen: Any, printed: str, in_own_file: str) -> None:
    """A copied template that writes svc.name (or svc.line) into a rule would give every
    member of a class the first member's: `generate` refuses it (exit 2, naming the service's
    line and the way out) and writes nothing; the same template is fine in the per-service
    layout."""
    custom = tmp_path / "my-templates" / "alerts"
    custom.mkdir(parents=True)
    built_in = (ROOT / "templates" / "alerts" / "memory-growth.yml.j2").read_text()
    assert "[[ who.text ]]" in built_in
    (custom / "memory-growth.yml.j2").write_text(
        built_in.replace('        annotations:\n',
                         f'        annotations:\n          playbook: "heap of [[ {printed} ]]"\n'))
    _write(tmp_path)
    run = rulegen("generate", "inventory.yaml", "--out", "out", "--templates", "my-templates")
    assert run.code == 2, run.stdout + run.stderr
    assert re.search(r"inventory\.yaml:\d+: output\.layout: classes: a template writes the "
                     r"name or the inventory line of this (go|nodejs) service \(svc\.name, "
                     r"svc\.line\)", run.stderr), run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "out").exists()
    _write(tmp_path, INVENTORY.replace("layout: classes", "layout: service"))
    run = rulegen("generate", "inventory.yaml", "--out", "out", "--templates", "my-templates")
    assert run.code == 0, run.stdout + run.stderr
    own = (tmp_path / "out/rules/go/svc-a.yml").read_text()
    assert f'playbook: "heap of {in_own_file}"' in own


def test_diff_names_the_services_of_a_class(tmp_path: Path, rulegen: Any) -> None:
    """`rulegen diff` in the class layout: a service whose threshold changes moves to a class
    of its own, and the diff is that service's alert (its threshold, its rulegen_class), not
    the class's; the service it leaves behind shows no change; a new member of a class is one
    added service."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)

    _write(tmp_path)
    assert rulegen("generate", "inventory.yaml").code == 0
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "base")
    assert rulegen("diff", "inventory.yaml").stdout.strip() == "no alert changes"
    _write(tmp_path, INVENTORY.replace("{name: svc.c, runtime: go}",
                                       "{name: svc.c, runtime: go, alerts: {memory-growth: "
                                       "{threshold: 30MiB/h}}}")
           + "  - {name: svc-h, runtime: nodejs}\n")
    run = rulegen("diff", "inventory.yaml")
    assert run.code == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    changed = [ln for ln in lines if ln.startswith("~ ")]
    assert changed and all(ln.startswith("~ svc.c: ") for ln in changed), lines
    growth = next(ln for ln in changed if "MemoryLeakSuspected" in ln)
    assert "threshold 10485760 → 31457280" in growth and "label rulegen_class go-" in growth
    added = [ln for ln in lines if ln.startswith("+ ")]
    assert added and all(ln.startswith("+ svc-h: ") for ln in added), lines
    assert not [ln for ln in lines if ln.startswith("- ")]


def test_services_that_share_the_join_labels_keep_their_own_limit(tmp_path: Path) -> None:
    """Two services of one class in one pod, the limit joined on namespace and pod only: each
    service's ratio is matched with its own recorded limit (on the join's labels and
    `service`), not with both (many-to-many, the rule failing for every member). The one at 90%
    of the limit fires MemoryNearLimit, the one at 10% does not. A join on some of a preset's
    labels is a limit definition of its own (its own recorded limit)."""
    inv = _write(tmp_path, """version: 1
output: {layout: classes}
defaults: {owner: platform, convention: otel-semconv}
services:
  - name: c1
    runtime: go
    memory_limit: &pod {source: metric, metric: kube-state-metrics,
                        join: {namespace: namespace, pod: pod}}
  - name: c2
    runtime: go
    memory_limit: *pod
  - name: c3
    runtime: go
    memory_limit: {source: metric, metric: kube-state-metrics}
""")
    out = tmp_path / "out"
    generate_tree(inv, out)
    limits = sorted(p.name for p in (out / "rules" / "limits").glob("*.yml"))
    assert len(limits) == 2 and "kube-state-metrics.yml" in limits, limits
    pair = next(n for n, m in _classes(out).items() if m == ["c1", "c2"])
    cls = pair.removesuffix(".yml")
    text = (out / "rules" / "classes" / pair).read_text()
    assert "on (namespace, pod, service) group_left ()" in text
    partial = next(n for n in limits if n != "kube-state-metrics.yml")
    test = {
        "rule_files": [str(out / "rules/classes" / pair),
                       str(out / "rules/classes" / f"{cls}.members.yml"),
                       str(out / "rules/limits" / partial)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'go_memory_used_bytes{job="c1", namespace="ns", pod="p", '
                           'go_memory_type="other"}', "values": "900+0x60"},
                {"series": 'go_memory_used_bytes{job="c2", namespace="ns", pod="p", '
                           'go_memory_type="other"}', "values": "100+0x60"},
                {"series": 'go_goroutine_count{job="c1", namespace="ns", pod="p"}',
                 "values": "10+0x60"},
                {"series": 'go_goroutine_count{job="c2", namespace="ns", pod="p"}',
                 "values": "10+0x60"},
                {"series": 'kube_pod_container_resource_limits{resource="memory", unit="byte", '
                           'namespace="ns", pod="p", container="app"}', "values": "1000+0x60"},
            ],
            "promql_expr_test": [{
                "expr": 'count by (service) (ALERTS{alertname="MemoryNearLimit", '
                        'alertstate="firing"})',
                "eval_time": "40m",
                "exp_samples": [{"labels": '{service="c1"}', "value": 1}],
            }, {
                "expr": 'count(ALERTS{alertname="LeakTelemetryMissing"})',
                "eval_time": "40m",
                "exp_samples": [],
            }],
        }],
    }
    path = tmp_path / "pod.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    pt = promtool.find_promtool(line_binary(DEFAULT_LINE, "promtool"))
    [result] = promtool.test_rules(pt, [path])
    assert result.ok and not result.failures, result


def test_rulegen_test_refuses_a_members_file_or_index_edited_by_hand(
        tmp_path: Path, rulegen: Any) -> None:
    """A class's members file decides whose telemetry alert can fire: `rulegen test` checks it
    records exactly the services its class file selects (prove/classes, exit 1). An index
    entry with too few identity values is a finding too, not a crash."""
    _write(tmp_path)
    assert rulegen("generate", "inventory.yaml", "--out", "out").code == 0
    out = tmp_path / "out"
    pair = next(n for n, m in _classes(out).items() if m == ["svc-a", "svc.c"])
    members = out / "rules" / "classes" / pair.replace(".yml", ".members.yml")
    good = members.read_text()
    members.write_text(good.replace('"svc.c"', '"zz"'))
    run = rulegen("test", "inventory.yaml", "--out", "out")
    assert run.code == 1, run.stdout + run.stderr
    assert re.search(rf"{re.escape(members.name)} does not record the class's services "
                     r"\(svc-a, svc\.c\) \(edited by hand\?\).*; run rulegen generate",
                     run.stdout + run.stderr), run.stdout + run.stderr
    members.write_text(good)
    assert rulegen("test", "inventory.yaml", "--out", "out").code == 0
    index = out / "tests" / "classes.yml"
    text = index.read_text()
    index.write_text(re.sub(r'identity: \["(\d+)", "svc-a\|[^\]]*\]', r'identity: ["\1"]', text,
                            count=1))
    assert index.read_text() != text
    run = rulegen("test", "inventory.yaml", "--out", "out")
    assert run.code == 1 and "Traceback" not in run.stderr, run.stdout + run.stderr
    assert re.search(r"tests/classes\.yml.*rules/classes/go-\w+\.yml is not its class's "
                     r"canonical form", run.stdout + run.stderr), run.stdout + run.stderr


def test_without_tests_a_class_file_still_counts_its_services(tmp_path: Path,
                                                              rulegen: Any) -> None:
    """`tests: false`: no index, so `rulegen test` reads a class's services from its members
    file (7 services in 6 rule files here)."""
    _write(tmp_path, INVENTORY.replace("output: {layout: classes,",
                                       "output: {tests: false, layout: classes,"))
    assert rulegen("generate", "inventory.yaml", "--out", "out").code == 0
    assert not (tmp_path / "out" / "tests").exists()
    run = rulegen("test", "inventory.yaml", "--out", "out")
    assert run.code == 0, run.stdout + run.stderr
    assert re.search(r"^rulegen test: 7 services\b", run.stderr, re.M) or \
        re.search(r"\b7 services\b", run.stdout + run.stderr), run.stdout + run.stderr


def test_lint_names_a_class_and_reads_its_members_settings(tmp_path: Path, rulegen: Any) -> None:
    """A lint finding on a class file says which class and members it concerns, and the checks
    that need the inventory (the GC period here) read the members' settings: without them the
    gc-window check is skipped for the file."""
    _write(tmp_path, INVENTORY.replace("output: {layout: classes,",
                                       "output: {tests: false, layout: classes,"))
    assert rulegen("generate", "inventory.yaml", "--out", "out").code == 0
    name = next(n for n, m in _classes(tmp_path / "out").items() if m == ["svc-a", "svc.c"])
    path = tmp_path / "out" / "rules" / "classes" / name
    expr = r'deriv(go_memory_used_bytes{job=~"svc-a|svc\\.c"}[10m]) > 0'
    path.write_text(path.read_text() + f"      - alert: HandWritten\n        expr: '{expr}'\n")
    run = rulegen("lint", str(path), "--inventory", "inventory.yaml", "--format", "text")
    cls = name.removesuffix(".yml")
    found = [line for line in run.stdout.splitlines() if "[promql/gc-window]" in line]
    assert len(found) == 1, run.stdout + run.stderr
    assert "fewer than 6 GC periods of 5m" in found[0]
    assert found[0].endswith(f"(from inventory.yaml, rule class {cls}: svc-a and 1 more) "
                             "[promql/gc-window]"), found[0]
