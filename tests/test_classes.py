"""Proof classes (issue 13 item 1, rulegen/classes.py, docs/classes.md).

The canonical form is sound: services put in one class have rule files that differ only in
their identity values, and anything that changes what the rules do splits the class. The
output stores one canonical rule file and its test file per class and an index that names
every service's class and identity values; `rulegen test` proves each class once, says which
services it proved, and refuses an index that does not match the tree (a service's rule file
that is not its class's canonical form with its values put back, among others).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from rulegen.classes import INDEX, ClassIndexError, Identity, read_index
from rulegen.generate import compile_inventory, generate_tree
from tests.conftest import example_slice
from tests.test_cache import Workspace
from tests.test_cache import _make_wrapper as make_wrapper

HEAD = """version: 1
defaults:
  owner: platform
  labels: {environment: prod}
  links: {runbook: https://runbooks.example.com/memory}
  memory_limit: {source: metric, metric: cadvisor}
services:
"""

# Three go services that differ in every identity value a service has: name, owner,
# description, routing label values, link values, the value of an equality selector.
SAME = """  - name: checkout
    runtime: go
    owner: team-a
    description: the checkout service
    labels: {tier: gold}
    links: {dashboard: https://grafana.example.com/d/checkout}
    selector: {job: shop-checkout, namespace: ns-shop}
  - name: cart
    runtime: go
    owner: team-b
    description: carts, "quoted" and all
    labels: {tier: silver}
    links: {dashboard: https://grafana.example.com/d/cart}
    selector: {job: shop-cart, namespace: ns-prod}
  - name: email
    runtime: go
    owner: team-c
    description: sends mail
    labels: {tier: bronze}
    links: {dashboard: https://grafana.example.com/d/email}
    selector: {job: mailer, namespace: ns-mail}
"""


def _classes(files: dict[str, str]) -> list[list[str]]:
    return [[m["service"] for m in c["services"]]
            for c in yaml.safe_load(files[INDEX])["classes"]]


CANONICAL = re.compile(r"tests/classes/(\w+)/[0-9a-f]{16}(\.rules)?\.yml")


def _class_files(files: dict[str, str], runtime: str = "go") -> list[str]:
    """The canonical rule and test files of the output, checked for their names."""
    found = sorted(p for p in files if p.startswith("tests/classes/"))
    assert all((m := CANONICAL.fullmatch(p)) and m[1] == runtime for p in found), found
    return found


def _compile(tmp_path: Path, text: str) -> dict[str, str]:
    inv = tmp_path / "inv.yaml"
    inv.write_text(text)
    return compile_inventory(inv, tmp_path / "out").files


def test_services_differing_only_in_identity_share_one_class(tmp_path: Path) -> None:
    files = _compile(tmp_path, HEAD + SAME)
    assert _classes(files) == [["go/checkout", "go/cart", "go/email"]]
    # One canonical rule file and its test file; every service keeps its own rule file.
    rules, test = _class_files(files)
    assert rules == test.replace(".yml", ".rules.yml")
    assert sorted(p for p in files if p.startswith("tests/")) == [INDEX, rules, test]
    assert {"rules/go/checkout.yml", "rules/go/cart.yml", "rules/go/email.yml"} <= set(files)
    # The canonical form carries placeholders where the services' identity values go.
    assert 'service="@rulegen-id-1@"' in files[rules] and "checkout" not in files[rules]
    assert "checkout" not in files[test] and "shop-" not in files[test]


def test_rules_of_one_class_differ_only_in_identity_values(tmp_path: Path) -> None:
    """The soundness the class rests on, checked on the files themselves: replacing the first
    service's identity values by the second's in its rule file gives the second's rule file,
    byte for byte (the values are distinct words, so the replacement is unambiguous)."""
    files = _compile(tmp_path, HEAD + SAME)
    first, second = files["rules/go/checkout.yml"], files["rules/go/cart.yml"]
    assert first != second
    swaps = [("shop-checkout", "shop-cart"), ("ns-shop", "ns-prod"),
             ("team-a", "team-b"), ("the checkout service", 'carts, \\"quoted\\" and all'),
             ("gold", "silver"), ("d/checkout", "d/cart"), ("line 8", "line 15"),
             ("checkout", "cart")]
    for old, new in swaps:
        first = first.replace(old, new)
    assert first == second
    # And as rulegen test checks it: each rule file is the class's canonical form with the
    # service's identity values (from the index) put back.
    [c] = yaml.safe_load(files[INDEX])["classes"]
    canonical = files["tests/" + c["tests"].replace(".yml", ".rules.yml")]
    for m in c["services"]:
        assert Identity(tuple(m["identity"])).instantiate(canonical) == files[
            f"rules/{m['service']}.yml"]


MEMBER = """  - name: cart
    runtime: go
    owner: team-b
    selector: {job: shop-cart}
"""


@pytest.mark.parametrize("change", [
    pytest.param("    alerts: {memory-growth: {threshold: 20MiB/h}}\n", id="threshold"),
    pytest.param("    alerts: {memory-growth: {window: 3h}}\n", id="window"),
    pytest.param("    alerts: {limit-ratio: {for: 10m}}\n", id="for"),
    pytest.param("    alerts: {limit-ratio: {severity: critical}}\n", id="severity"),
    pytest.param("    gc_period: 10m\n", id="gc_period"),
    pytest.param("    scrape_interval: 30s\n", id="scrape_interval"),
    pytest.param("    memory_limit: {source: static, size: 1Gi}\n", id="limit"),
    pytest.param("    labels: {tier: gold}\n", id="extra-routing-label"),
    pytest.param("    convention: prometheus\n", id="convention"),
])
def test_anything_but_identity_splits_the_class(tmp_path: Path, change: str) -> None:
    base = """  - name: checkout
    runtime: go
    owner: team-a
    selector: {job: shop-checkout}
"""
    assert _classes(_compile(tmp_path, HEAD + base + MEMBER)) == [["go/checkout", "go/cart"]]
    assert _classes(_compile(tmp_path, HEAD + base + MEMBER + change)) == [
        ["go/checkout"], ["go/cart"]]


@pytest.mark.parametrize("selector", [
    pytest.param("{job: {regex: shop-cart.*}}", id="regex-selector"),
    pytest.param("{job: {not: shop-checkout}}", id="negative-matcher"),
    pytest.param("{job: shop-cart, pod: {regex: cart-.*}}", id="extra-regex-matcher"),
    pytest.param("{job: shop-cart, container: cart}", id="extra-matcher"),
])
def test_selectors_that_are_not_one_equality_per_label_split_the_class(
        tmp_path: Path, selector: str) -> None:
    """An equality matcher's value is identity; a regex or negative matcher, or an extra
    label matched, changes which series the rules read."""
    base = "  - name: checkout\n    runtime: go\n    selector: {job: shop-checkout}\n"
    other = f"  - name: cart\n    runtime: go\n    selector: {selector}\n"
    assert _classes(_compile(tmp_path, HEAD + base + other)) == [["go/checkout"], ["go/cart"]]


def test_a_per_signal_matcher_splits_the_class(tmp_path: Path) -> None:
    other = MEMBER + "    metrics: {heap: {matchers: {area: heap}}}\n"
    base = "  - name: checkout\n    runtime: go\n    selector: {job: shop-checkout}\n"
    assert _classes(_compile(tmp_path, HEAD + base + other)) == [["go/checkout"], ["go/cart"]]


def test_a_value_written_differently_stays_in_a_class_of_its_own(tmp_path: Path) -> None:
    """An owner with `{{` is written escaped for Go's template engine, so its rule file is not
    the canonical form with the value put in: the check that admits a service to a class
    refuses it, and it is proved on its own."""
    base = "  - name: checkout\n    runtime: go\n    owner: team-a\n"
    odd = "  - name: cart\n    runtime: go\n    owner: 'team {{ b }}'\n"
    files = _compile(tmp_path, HEAD + base + odd)
    assert _classes(files) == [["go/checkout"], ["go/cart"]]
    assert "tests/go/cart.yml" in files


def test_a_template_that_uses_a_value_keeps_services_apart(tmp_path: Path) -> None:
    """A user's template that does more with a name than print it (here: upper-cases it)
    makes rule files that are not the canonical form with the name put in."""
    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).resolve().parents[1] / "templates", templates)
    rules = templates / "rules.yml.j2"
    rules.write_text(rules.read_text().replace(
        "# Generated by rulegen", "# [[ svc.name | upper ]]\n# Generated by rulegen", 1))
    inv = tmp_path / "inv.yaml"
    inv.write_text(HEAD + "  - name: checkout\n    runtime: go\n" + MEMBER)
    files = compile_inventory(inv, tmp_path / "out", templates).files
    assert _classes(files) == [["go/checkout"], ["go/cart"]]


@pytest.mark.parametrize("changed_service", ["checkout", "email"])
def test_one_change_to_one_service_changes_one_class(tmp_path: Path,
                                                     changed_service: str) -> None:
    """The files of the class a changed service leaves stay byte for byte the same (a cached
    proof of them still holds), also when the service was the class's first: the class is
    proved on its canonical form, not on a service. The changed service gets a class of its
    own: one new canonical rule file and test file, its rule file, the index."""
    before = _compile(tmp_path, HEAD + SAME)
    block = SAME.index(f"  - name: {changed_service}\n")
    end = SAME.find("  - name: ", block + 1)
    end = len(SAME) if end < 0 else end
    change = "    alerts: {memory-growth: {threshold: 1MiB/h}}\n"
    after = _compile(tmp_path, HEAD + SAME[:end] + change + SAME[end:])
    others = [s for s in ("go/checkout", "go/cart", "go/email") if s != f"go/{changed_service}"]
    assert sorted(_classes(after)) == sorted([others, [f"go/{changed_service}"]])
    old = _class_files(before)
    assert {p: after.get(p) for p in old} == {p: before[p] for p in old}
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    new = set(_class_files(after)) - set(old)
    assert len(new) == 2
    # The line added moves the services below it: their rule files' headers name the line.
    moved = {"rules/go/cart.yml", "rules/go/email.yml"} if changed_service == "checkout" else set()
    for path in moved:
        assert after[path].splitlines()[1:] == before[path].splitlines()[1:]
    assert changed == {INDEX, f"rules/go/{changed_service}.yml"} | new | moved


def test_parallel_and_serial_compiles_write_the_same_classes(tmp_path: Path) -> None:
    """From 1,000 services the compile runs in chunks: the classes span chunks, and each is
    still proved by its first service in inventory order."""
    kinds = ["go", "nodejs", "python"]
    body = "".join(f"  - name: svc-{i:04d}\n    runtime: {kinds[i % 3]}\n"
                   + ("    gc_period: 10m\n" if i % 500 == 7 else "") for i in range(1000))
    parallel = _compile(tmp_path, HEAD + body)
    serial = _compile(tmp_path, HEAD + body[: body.index("  - name: svc-0999")])
    classes = _classes(parallel)
    assert [c[0] for c in classes] == ["go/svc-0000", "nodejs/svc-0001", "python/svc-0002",
                                      "nodejs/svc-0007", "go/svc-0507"]
    assert sum(map(len, classes)) == 1000
    # a canonical rule file and test file per class, and the index
    tests = sorted(p for p in parallel if p.startswith("tests/"))
    assert len(tests) == 11
    assert {p: parallel[p] for p in tests if p != INDEX} == {
        p: serial[p] for p in serial if p.startswith("tests/") and p != INDEX}


def test_generate_writes_the_index_and_one_test_per_class(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(HEAD + SAME)
    generate_tree(inv, tmp_path / "out")
    tests = sorted(p.relative_to(tmp_path / "out").as_posix()
                   for p in (tmp_path / "out" / "tests").rglob("*.yml"))
    [c] = read_index(tmp_path / "out") or []
    assert c.rules and CANONICAL.fullmatch(f"tests/{c.tests}")
    assert tests == [INDEX, f"tests/{c.rules}", f"tests/{c.tests}"]
    assert c.services == ("go/checkout", "go/cart", "go/email")
    assert c.canonical and c.tests.endswith(f"{c.canonical.removeprefix('sha256:')[:16]}.yml")
    assert [v[1] for v in c.identities if v] == ["checkout", "cart", "email"]
    text = (tmp_path / "out" / INDEX).read_text()
    assert text.startswith("# Generated by rulegen from inv.yaml. DO NOT EDIT.\n")
    assert re.search(r'canonical: "sha256:[0-9a-f]{64}"', text)


@pytest.mark.parametrize("text", [
    "classes: {}\n", "- a\n", "classes: [{tests: 1}]\n", "{",
    "classes: [{tests: a.yml, services: []}]\n",
    "classes: [{tests: a.yml, services: [go/a]}]\n",
    "classes: [{tests: a.yml, canonical: 'sha256:0', services: [{service: go/a}]}]\n",
    "classes: [{tests: a.yml, services: [{service: go/a, identity: [a]}]}]\n",
    "classes: [{tests: a.yml, canonical: 'sha256:0', services: [{service: go/a, "
    "identity: [1]}]}]\n"])
def test_an_index_rulegen_did_not_write_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / INDEX).write_text(text)
    with pytest.raises(ClassIndexError):
        read_index(tmp_path)


def test_the_example_has_classes(tmp_path: Path) -> None:
    """The shipped example: the three services with the same process rules share a class."""
    files = _compile(tmp_path, example_slice("currency", "quote", "shipping", "email"))
    assert _classes(files) == [["process/currency", "process/quote", "process/shipping"],
                               ["process/email"]]


# --- proving classes, with the real promtool ----------------------------------------------

def _accounting_class(*extra: str) -> str:
    """The example's cheapest service to prove, and copies of it under other names."""
    text = example_slice("accounting")
    for name in extra:
        text += (f"  - name: {name}\n    runtime: dotnet\n    owner: team-{name}\n"
                 f"    description: the {name} service\n    memory_limit: {{source: none}}\n")
    return text


@pytest.fixture
def three(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path, Path())
    ws.promtool = make_wrapper(tmp_path / "promtool")
    (tmp_path / "inv.yaml").write_text(_accounting_class("billing", "ledger"))
    assert ws.run("generate", "inv.yaml", "--out", "out").code == 0
    return ws


@pytest.mark.promtool
def test_each_class_is_proved_once_and_the_run_names_its_services(three: Workspace) -> None:
    run = three.test()
    assert run.code == 0, run.stdout + run.stderr
    [c] = read_index(three.root / "out") or []
    assert run.tests_run == [f"out/tests/{c.tests}"]
    assert re.fullmatch(r"accounting: \d+ cases ok, for its class of 3: dotnet/accounting, "
                        r"dotnet/billing, dotnet/ledger", run.stdout.splitlines()[0])
    assert re.fullmatch(r"3 services in 1 class \(0 cached, 1 proved\), \d+ cases, "
                        r"promtool 2\.42\.0: passed", run.stdout.splitlines()[-1])
    junit = three.run("test", "inv.yaml", "--out", "out", "--format", "junit")
    assert junit.code == 0
    assert ('<property name="services" value="dotnet/accounting dotnet/billing dotnet/ledger" />'
            in junit.stdout)


@pytest.mark.promtool
@pytest.mark.parametrize("changed", ["accounting", "ledger"])
def test_a_threshold_changed_on_one_service_re_proves_one_class(three: Workspace,
                                                                changed: str) -> None:
    """Also when the service changed was its class's first (accounting): the class the
    service leaves keeps its canonical files, so its cached proof holds."""
    assert three.test().code == 0  # fills the cache
    [before] = read_index(three.root / "out") or []
    inv = three.root / "inv.yaml"
    text = inv.read_text()
    at = text.index("  - name: billing") if changed == "accounting" else len(text)
    inv.write_text(text[:at] + "    alerts: {memory-growth: {threshold: 50MiB/h}}\n" + text[at:])
    assert three.run("generate", "inv.yaml", "--out", "out").code == 0
    after = read_index(three.root / "out") or []
    [new] = [c for c in after if c.services == (f"dotnet/{changed}",)]
    assert [c.tests for c in after if c is not new] == [before.tests]
    run = three.test()
    assert run.code == 0, run.stdout + run.stderr
    assert run.tests_run == [f"out/tests/{new.tests}"]
    assert re.fullmatch(r"3 services in 2 classes \(1 cached, 1 proved\), \d+ cases, "
                        r"promtool 2\.42\.0: passed", run.stdout.splitlines()[-1])


@pytest.mark.promtool
def test_an_index_that_names_a_missing_rule_file_is_a_finding(three: Workspace) -> None:
    (three.root / "out/rules/dotnet/billing.yml").unlink()
    run = three.test()
    assert run.code == 1
    assert ("names dotnet/billing, which has no rule file rules/dotnet/billing.yml; run rulegen "
            "generate") in run.stdout + run.stderr


@pytest.mark.promtool
def test_a_rule_file_edited_by_hand_is_not_taken_as_proved(three: Workspace) -> None:
    """rulegen test checks every service's rule file against its class's canonical form with
    the service's identity values put back: an edit there is a finding, not a silent pass."""
    rules = three.root / "out/rules/dotnet/billing.yml"
    rules.write_text(rules.read_text().replace("for: 15m", "for: 1m", 1))
    run = three.test()
    assert run.code == 1
    assert ("rules/dotnet/billing.yml is not its class's canonical form tests/classes/dotnet/"
            in run.stdout + run.stderr)
    assert "with its identity values put back (edited by hand?)" in run.stdout + run.stderr


@pytest.mark.promtool
def test_a_canonical_form_edited_by_hand_is_a_finding(three: Workspace) -> None:
    [c] = read_index(three.root / "out") or []
    assert c.rules
    canonical = three.root / "out/tests" / c.rules
    canonical.write_text(canonical.read_text() + "\n")
    run = three.test()
    assert run.code == 1
    assert f"tests/{c.rules} is not the canonical form {c.canonical}" in run.stdout + run.stderr


@pytest.mark.promtool
def test_a_member_without_the_index_is_not_taken_as_proved(three: Workspace) -> None:
    """Without tests/classes.yml every service needs its own test file: the services of a
    class are reported as having none, never passed silently."""
    (three.root / "out" / INDEX).unlink()
    run = three.test()
    assert run.code == 1
    assert "accounting: FAILED (no generated test file)" in run.stdout
    assert "billing: FAILED (no generated test file)" in run.stdout
    assert "ledger: FAILED (no generated test file)" in run.stdout
