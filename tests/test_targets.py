"""Output targets: PrometheusRule objects valid against the real CRD schema and equal to the plain
rule files, Mimir ruler namespace files with every group once, deterministic bytes, --target
overriding the inventory, and drift detection over the new files."""

from __future__ import annotations

import copy
import re
import shutil
import typing
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from rulegen import generate, promtool, targets
from rulegen.check import drift
from rulegen.generate import Output, compile_inventory
from rulegen.inventory import Target
from rulegen.writer import write_tree
from tests.conftest import EXAMPLE, ROOT

# The PrometheusRule CRD as published by prometheus-operator (v0.82.2): a vendored copy in
# tests/crds/ if there is one, else the shared reference copy.
CRD_NAME = "monitoring.coreos.com_prometheusrules.yaml"
CRD_PLACES = [ROOT / "tests" / "crds" / CRD_NAME, Path("/work/shared/reference/crds") / CRD_NAME]
NAMESPACE, LABELS = "otel-demo", {"release": "prometheus"}  # as in the example inventory

# Kubernetes object metadata, as the API server validates it (apimachinery): the CRD itself
# only says `metadata: {type: object}`.
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
LABEL_KEY = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
             r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$"
OBJECT_META = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": DNS1123_SUBDOMAIN, "maxLength": 253},
        "namespace": {"type": "string", "pattern": DNS1123_LABEL, "maxLength": 63},
        "labels": {"type": "object",
                   "additionalProperties": {"type": "string", "pattern": LABEL_VALUE},
                   "propertyNames": {"pattern": LABEL_KEY, "maxLength": 317}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


# --- the CRD's OpenAPI v3 schema as a JSON Schema validator ------------------------------------


def _structural(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes structural schema) -> JSON Schema, keeping every constraint:
    - `x-kubernetes-int-or-string` / `format: int-or-string`: integer or string;
    - `x-kubernetes-list-type: map` + `x-kubernetes-list-map-keys`: items unique by those keys
      (checked by the `x-list-map-keys` keyword below); `set`: unique items;
    - unknown fields: rejected, as `kubectl apply` (strict field validation) rejects them,
      unless `x-kubernetes-preserve-unknown-fields`;
    - Go regexp `pattern`s: a leading `^(?i)` (a flag after the anchor: fine for Go, an error
      for Python's re) becomes `(?i)^`;
    - any other `x-kubernetes-*` key fails the test: it would be silently ignored otherwise."""
    if isinstance(node, list):
        return [_structural(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            out[key] = {k: _structural(v) for k, v in value.items()}
        elif key.startswith("x-kubernetes-"):
            continue
        elif key == "pattern":
            out[key] = re.sub(r"^\^\(\?([a-z]+)\)", r"(?\1)^", value)
            re.compile(out[key])  # any other Go-only syntax fails here, not silently
        else:
            out[key] = _structural(value)
    extensions = {k: v for k, v in node.items() if k.startswith("x-kubernetes-")}
    known = {"x-kubernetes-int-or-string", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
             "x-kubernetes-preserve-unknown-fields"}
    assert set(extensions) <= known, f"unhandled CRD schema extension: {set(extensions) - known}"
    if extensions.get("x-kubernetes-int-or-string") or out.get("format") == "int-or-string":
        out.pop("format", None)
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    list_type = extensions.get("x-kubernetes-list-type")
    if list_type == "map":
        out["x-list-map-keys"] = extensions["x-kubernetes-list-map-keys"]
    elif list_type == "set":
        out["uniqueItems"] = True
    if (out.get("type") == "object" and "properties" in out
            and "additionalProperties" not in out
            and not extensions.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


def _list_map_keys(validator: Any, keys: list[str], instance: Any, schema: Any
                   ) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "array"):
        return
    seen: set[tuple[Any, ...]] = set()
    for item in instance:
        if not isinstance(item, dict):
            continue
        key = tuple(item.get(k) for k in keys)
        if key in seen:
            yield jsonschema.ValidationError(f"duplicate entries for list-map key {keys}={key}")
        seen.add(key)


CrdValidator = jsonschema.validators.extend(
    jsonschema.Draft7Validator, {"x-list-map-keys": _list_map_keys})


@pytest.fixture(scope="module")
def crd_validator() -> Any:
    found = [p for p in CRD_PLACES if p.is_file()]
    if not found:
        pytest.fail(f"the PrometheusRule CRD is needed: put it at {CRD_PLACES[0]}")
    crd = yaml.safe_load(found[0].read_text())
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = _structural(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = OBJECT_META
    schema["properties"]["apiVersion"] = {"const": f"{crd['spec']['group']}/v1"}
    schema["properties"]["kind"] = {"const": crd["spec"]["names"]["kind"]}
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    CrdValidator.check_schema(schema)
    return CrdValidator(schema)


# --- the example, compiled once -------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Output:
    return compile_inventory(EXAMPLE, tmp_path_factory.mktemp("example") / "rules_out")


def _services() -> list[tuple[str, str, str]]:
    """(name, runtime, owner) of every example service, from the inventory itself."""
    data = yaml.safe_load(EXAMPLE.read_text())
    default = data["defaults"]["owner"]
    return [(s["name"], s["runtime"], s.get("owner", default)) for s in data["services"]]


SERVICES = _services()
# The fleet's limit files (rules/limits/<id>.yml): one per limit definition the example uses.
LIMITS = ("cadvisor-9b5d81f4", "docker-stats", "kube-state-metrics-b59b9cd2", "otel-k8s")


def _body(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def _header(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if ln.startswith("#")][:2]


# --- operator ---------------------------------------------------------------------------------


def test_one_prometheusrule_per_service_and_limit(example: Output) -> None:
    operator = sorted(p for p in example.files if p.startswith("operator/"))
    assert sorted(p for p in example.files if p.startswith("rules/limits/")) == [
        f"rules/limits/{lid}.yml" for lid in LIMITS]
    assert operator == sorted([f"operator/{rt}/{name}.yaml" for name, rt, _ in SERVICES]
                              + [f"operator/limits/{lid}.yaml" for lid in LIMITS])


@pytest.mark.parametrize("lid", LIMITS)
def test_limit_prometheusrule_valid_and_equal_to_plain_file(example: Output, crd_validator: Any,
                                                            lid: str) -> None:
    doc = _body(example.files[f"operator/limits/{lid}.yaml"])
    assert crd_validator.is_valid(doc)
    assert doc["metadata"]["name"] == f"rulegen-limit-{lid}"
    assert doc["spec"] == _body(example.files[f"rules/limits/{lid}.yml"])
    [group] = doc["spec"]["groups"]
    assert group["name"] == f"rulegen.limit.{lid}"
    assert [r["record"] for r in group["rules"]] == ["rulegen:memory_limit_bytes"]


@pytest.mark.parametrize("name,runtime", [(s[0], s[1]) for s in SERVICES],
                         ids=[s[0] for s in SERVICES])
def test_prometheusrule_valid_and_equal_to_plain_file(example: Output, crd_validator: Any,
                                                      name: str, runtime: str) -> None:
    text = example.files[f"operator/{runtime}/{name}.yaml"]
    plain = example.files[f"rules/{runtime}/{name}.yml"]
    doc = _body(text)
    errors = sorted(crd_validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
    assert doc["metadata"] == {"name": f"rulegen-{name}", "namespace": NAMESPACE,
                               "labels": LABELS}
    assert doc["spec"] == _body(plain)  # the plain file is exactly {groups: [...]}
    assert [g["name"] for g in doc["spec"]["groups"]] == [f"rulegen.{name}"]
    # the plain file's header, then its groups: block indented under spec: line by line
    assert text.startswith("".join(ln + "\n" for ln in _header(plain)))
    groups_block = plain[plain.index("\ngroups:\n") + 1:]
    spec_block = text[text.index("\nspec:\n") + len("\nspec:\n"):]
    assert spec_block == "".join(f"  {ln}" if ln != "\n" else ln
                                 for ln in groups_block.splitlines(keepends=True))


def test_crd_validation_is_not_vacuous(example: Output, crd_validator: Any) -> None:
    good = _body(example.files["operator/go/checkout.yaml"])
    assert crd_validator.is_valid(good)

    def broken(edit: typing.Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        doc = copy.deepcopy(good)
        edit(doc)
        return doc

    bad = {
        "unknown rule field": broken(lambda d: d["spec"]["groups"][0]["rules"][0].update(x=1)),
        "unknown group field": broken(lambda d: d["spec"]["groups"][0].update(source_tenants=[])),
        "bad for duration": broken(lambda d: d["spec"]["groups"][0]["rules"][0].update(
            {"for": "15 minutes"})),
        "expr not int-or-string": broken(lambda d: d["spec"]["groups"][0]["rules"][0].update(
            expr=["up"])),
        "expr missing": broken(lambda d: d["spec"]["groups"][0]["rules"][0].pop("expr")),
        "duplicate group name": broken(lambda d: d["spec"]["groups"].append(
            copy.deepcopy(d["spec"]["groups"][0]))),
        "label value not a string": broken(lambda d: d["spec"]["groups"][0]["rules"][0][
            "labels"].update(severity=3)),
        "name not DNS-1123": broken(lambda d: d["metadata"].update(name="rulegen-Cart_x")),
        "namespace not DNS-1123": broken(lambda d: d["metadata"].update(namespace="Otel")),
        "bad label key": broken(lambda d: d["metadata"]["labels"].update({"a b": "x"})),
        "wrong kind": broken(lambda d: d.update(kind="PrometheusRules")),
        "no spec": broken(lambda d: d.pop("spec")),
    }
    accepted = [what for what, doc in bad.items() if crd_validator.is_valid(doc)]
    assert accepted == []
    assert crd_validator.is_valid(broken(lambda d: d["spec"]["groups"][0]["rules"][0].update(
        expr=5)))  # int-or-string: an integer is a valid expr


def test_prometheusrule_spec_passes_promtool(example: Output, tmp_path: Path,
                                              promtool_path: str) -> None:
    files = []
    for path, text in sorted(example.files.items()):
        if path.startswith("operator/"):
            f = tmp_path / (Path(path).stem + ".yml")
            f.write_text(yaml.safe_dump(_body(text)["spec"], sort_keys=False))
            files.append(f)
    assert len(files) == len(SERVICES) + len(LIMITS)
    results = promtool.check_rules(promtool.find_promtool(promtool_path), files)
    assert [(r.file, r.errors, r.lint) for r in results if not r.ok or r.lint] == []


def test_operator_names_are_valid_and_distinct() -> None:
    assert targets.operator_name("checkout") == "rulegen-checkout"
    assert targets.operator_name("a.b-c") == "rulegen-a.b-c"
    odd = ["Cart", "cart", "a_b", "a-b", "x._y", "A" * 300, "B" * 300]
    names = [targets.operator_name(s) for s in odd]
    assert len(set(names)) == len(names)
    for n in names:
        assert re.match(DNS1123_SUBDOMAIN, n) and len(n) <= 253, n


def test_operator_without_namespace_or_labels() -> None:
    plain = "# Generated by rulegen from x\ngroups:\n- name: g\n  rules: []\n"
    text = targets.operator_file(plain, "svc", None)
    doc = yaml.safe_load(text)
    assert doc["metadata"] == {"name": "rulegen-svc"} and doc["spec"] == yaml.safe_load(plain)
    assert text.startswith("# Generated by rulegen from x\napiVersion:")


def test_label_keys_that_yaml_would_retype_are_quoted() -> None:
    from rulegen.inventory import OperatorSettings

    labels = {"true": "yes", "1": "2", "app.kubernetes.io/part-of": "rulegen", "null": ""}
    text = targets.operator_file("groups: []\n", "s", OperatorSettings(labels=labels))
    assert yaml.safe_load(text)["metadata"]["labels"] == labels


def test_rule_file_of_unexpected_shape_is_refused() -> None:
    with pytest.raises(targets.TargetError, match="groups:"):
        targets.operator_file("groups: []\nnamespace: x\n", "s", None, "rules/go/s.yml")
    with pytest.raises(targets.TargetError, match="rules/go/s.yml"):
        targets.operator_file("rules: []\n", "s", None, "rules/go/s.yml")


# --- mimir ------------------------------------------------------------------------------------


def _mimir(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {p: _body(t) for p, t in files.items() if p.startswith("mimir/")}


def test_mimir_one_namespace_per_owner(example: Output) -> None:
    mimir = _mimir(example.files)
    owners = {owner for _, _, owner in SERVICES} | {targets.LIMITS_NAMESPACE}
    assert sorted(mimir) == sorted(f"mimir/{o}.yml" for o in owners)
    for path, doc in mimir.items():
        assert set(doc) == {"namespace", "groups"}  # mimirtool decodes with KnownFields(true)
        assert doc["namespace"] == Path(path).stem
        members = sorted([f"rulegen.{n}" for n, _, o in SERVICES if o == doc["namespace"]]
                         + [f"rulegen.limit.{lid}" for lid in LIMITS
                            if doc["namespace"] == targets.LIMITS_NAMESPACE])
        names = [g["name"] for g in doc["groups"]]
        assert names == members  # this owner's services, sorted by name
        text = example.files[path]
        assert text.startswith("# Generated by rulegen from ") and "DO NOT EDIT" in text


def test_mimir_every_group_exactly_once_and_as_in_plain_file(example: Output) -> None:
    groups = [g for doc in _mimir(example.files).values() for g in doc["groups"]]
    counts = Counter(g["name"] for g in groups)
    assert counts == Counter([f"rulegen.{name}" for name, _, _ in SERVICES]
                             + [f"rulegen.limit.{lid}" for lid in LIMITS])  # once each, unique
    by_name = {g["name"]: g for g in groups}
    for name, runtime, _ in SERVICES:
        [plain] = _body(example.files[f"rules/{runtime}/{name}.yml"])["groups"]
        assert by_name[f"rulegen.{name}"] == plain


def test_mimir_groups_pass_promtool(example: Output, tmp_path: Path, promtool_path: str) -> None:
    files = []
    for path, doc in sorted(_mimir(example.files).items()):
        f = tmp_path / Path(path).name
        f.write_text(yaml.safe_dump({"groups": doc["groups"]}, sort_keys=False))
        files.append(f)
    results = promtool.check_rules(promtool.find_promtool(promtool_path), files)
    assert [(r.file, r.errors, r.lint) for r in results if not r.ok or r.lint] == []


def _with_output(tmp_path: Path, output: str) -> Path:
    text = EXAMPLE.read_text()
    start = text.index("\noutput:\n")
    end = text.index("\ndefaults:\n")
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text[:start] + "\n" + output + text[end:])
    return inv


def test_mimir_fixed_namespace(tmp_path: Path) -> None:
    inv = _with_output(tmp_path, "output: {targets: [mimir], mimir: {namespace: Memory Leaks}}\n")
    files = compile_inventory(inv, tmp_path / "out").files
    mimir = _mimir(files)
    [(path, doc)] = mimir.items()
    assert re.fullmatch(r"mimir/memory-leaks-[0-9a-f]{8}\.yml", path)  # a safe file name
    assert doc["namespace"] == "Memory Leaks"
    names = [g["name"] for g in doc["groups"]]
    assert names == sorted([f"rulegen.{n}" for n, _, _ in SERVICES]
                           + [f"rulegen.limit.{lid}" for lid in LIMITS])
    assert not any(p.startswith("operator/") for p in files)


def test_mimir_reindents_any_template_layout() -> None:

    texts = {  # list items at column 0 and at column 4; a literal block keeps its inner indent
        "zero": "# h\ngroups:\n- name: rulegen.zero\n  rules:\n  - alert: A\n"
                "    expr: |-\n      up\n\n        == 0\n",
        "four": "# h\ngroups:\n    - name: rulegen.four\n      rules:\n        - alert: B\n"
                "          expr: |-\n            up\n\n              == 0\n",
        "none": "# h\ngroups: []\n",
    }
    [(path, text)] = targets.mimir_files(
        [("team", f"rulegen.{n}", f"rules/go/{n}.yml", t) for n, t in sorted(texts.items())],
        None, "inv.yaml").items()
    assert path == "mimir/team.yml"
    doc = yaml.safe_load(text)
    expected = [g for n in ("four", "zero") for g in yaml.safe_load(texts[n])["groups"]]
    assert doc == {"namespace": "team", "groups": expected}
    assert doc["groups"][1]["rules"][0]["expr"] == "up\n\n  == 0"


# --- determinism, --target, drift ----------------------------------------------------------


def test_target_names_agree_with_the_inventory_schema() -> None:
    assert typing.get_args(Target) == targets.TARGETS


def test_same_inventory_same_bytes(tmp_path: Path) -> None:
    first = compile_inventory(EXAMPLE, tmp_path / "rules_out").files
    again = compile_inventory(EXAMPLE, tmp_path / "rules_out").files
    assert again == first
    assert {p.split("/")[0] for p in again} == {"rules", "tests", "operator", "mimir"}


def test_parallel_chunks_give_the_same_files(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if "fork" not in generate.mp.get_all_start_methods():
        pytest.skip("no fork: never parallel")
    inv = tmp_path / "inventory.yaml"
    shutil.copy(EXAMPLE, inv)
    monkeypatch.setattr(generate, "_PARALLEL_FROM", 2)
    monkeypatch.setattr(generate, "_workers", lambda: 2)
    assert generate.split_services(inv.read_text()) is not None  # really chunked
    parallel = compile_inventory(inv, tmp_path / "out").files
    monkeypatch.setattr(generate, "_workers", lambda: 1)
    serial = compile_inventory(inv, tmp_path / "out").files
    assert parallel == serial and any(p.startswith("mimir/") for p in serial)


def _tops(files: dict[str, str]) -> set[str]:
    return {p.split("/")[0] for p in files}


def test_target_flag_overrides_inventory(tmp_path: Path, rulegen) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    assert _tops(compile_inventory(EXAMPLE, out, targets=["prometheus"]).files) == {
        "rules", "tests"}
    assert _tops(compile_inventory(EXAMPLE, out, targets=["mimir"]).files) == {
        "rules", "tests", "mimir"}  # prometheus is always written
    # how `rulegen check --target` reaches the compile, and its fix hint repeats the flag
    only_operator = compile_inventory(EXAMPLE, out, targets=["operator"])
    assert _tops(only_operator.files) == {"rules", "tests", "operator"}
    [hint] = {p.message.split("run `")[1] for p in drift(only_operator, out, EXAMPLE, None,
                                                          ["operator"])}
    assert hint.endswith("--target operator`")
    assert _tops(compile_inventory(EXAMPLE, out).files) == {
        "rules", "tests", "operator", "mimir"}  # the inventory's targets again
    plain = _with_output(tmp_path, "")
    assert _tops(compile_inventory(plain, out).files) == {"rules", "tests"}  # the default
    assert _tops(compile_inventory(plain, out, targets=["operator"]).files) == {
        "rules", "tests", "operator"}

    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    r = rulegen("generate", "inventory.yaml", "--target", "prometheus", "--target", "operator")
    assert r.code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "rules_out").iterdir()) == [
        "operator", "rules", "tests"]
    r = rulegen("generate", "inventory.yaml", "--target", "thanos")
    assert r.code == 2 and "thanos" in r.stderr
    r = rulegen("check", "--help")
    assert "--target [prometheus|operator|mimir]" in r.stdout


@pytest.fixture
def committed(tmp_path: Path, example: Output) -> Path:
    """The example's output written to an output directory, as if committed."""
    shutil.copy(EXAMPLE, tmp_path / "inventory.yaml")
    out = tmp_path / "rules_out"
    write_tree(out, compile_inventory(tmp_path / "inventory.yaml", out).files)
    return out


def _drift(out: Path, targets_: list[str] | None = None) -> list[tuple[str, str]]:
    inv = out.parent / "inventory.yaml"
    output = compile_inventory(inv, out, targets=targets_)
    return [(p.check, Path(p.path).relative_to(out).as_posix())
            for p in drift(output, out, inv, None)]


def test_drift_covers_the_new_targets(committed: Path) -> None:
    assert _drift(committed) == []
    f = committed / "operator/go/checkout.yaml"
    f.write_text(f.read_text().replace('release: "prometheus"', 'release: "other"'))
    (committed / "mimir/ads-team.yml").unlink()
    assert sorted(_drift(committed)) == [("drift/missing", "mimir/ads-team.yml"),
                                         ("drift/stale", "operator/go/checkout.yaml")]


def test_drift_after_target_removed(committed: Path) -> None:
    found = _drift(committed, ["prometheus"])  # `check --target prometheus` on the full tree
    assert {c for c, _ in found} == {"drift/extra"}
    assert {p.split("/")[0] for _, p in found} == {"operator", "mimir"}
