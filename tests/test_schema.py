"""The JSON Schema and the loader agree: one model serves both, and the committed schema file
is what `rulegen schema` prints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from rulegen import yamlpos
from rulegen.errors import InventoryError
from rulegen.inventory import json_schema
from rulegen.loader import decode, load_inventory
from tests.conftest import ROOT

SCHEMA = json_schema()
EXAMPLES = sorted((ROOT / "examples").glob("**/*.yaml"))
BROKEN = sorted((ROOT / "tests/inventories/broken").glob("*.yaml"))
# Broken inventories the schema cannot tell from good ones: their mistakes need the catalog
# (runtimes, conventions, presets), relate two fields (for > window, a size with source: none)
# or are not said in JSON Schema here (duplicate keys, RE2 regexes, bounds of sizes, durations
# and fractions, .nan and .inf, one key per matcher, patterns of mapping keys). Every other one
# that is UTF-8 YAML is a mistake of shape or type: the schema must catch it too.
LOADER_ONLY = {
    "alert-for-huge", "alert-for-longer-than-window-defaults", "alert-threshold-ambiguous-m",
    "alert-threshold-huge", "alert-threshold-zero", "alert-window-over-30d",
    "alert-window-too-short", "alert-window-zero", "alias-in-key-position",
    "convention-not-for-runtime", "convention-typo", "convention-underscore",
    "defaults-limit-preset-typo", "duplicate-alerts-family", "duplicate-defaults-key",
    "duplicate-key-quoted-and-plain", "duplicate-key", "duplicate-label", "duplicate-link",
    "duplicate-service", "duplicate-setting-in-flow", "duplicate-top-level-key",
    "evaluation-interval-too-long", "evaluation-interval-zero",
    "for-longer-than-window", "forecast-horizon-zero", "gc-period-shorter-than-scrape",
    "gc-period-too-long", "key-a-number", "key-null", "label-name-dash",
    "label-name-double-underscore", "label-name-template", "label-reserved-alertname",
    "label-reserved-in-defaults", "limit-custom-metric-without-join", "limit-join-bad-label",
    "limit-matchers-bad-regex", "limit-metric-missing", "limit-metric-with-size",
    "limit-none-with-size", "limit-preset-typo", "limit-runtime-not-available",
    "limit-runtime-with-join", "limit-size-36-digit-number", "limit-size-36-digits",
    "limit-size-ambiguous-m", "limit-size-too-large", "limit-static-with-metric",
    "limit-static-without-size", "link-name-uppercase", "link-name-url-suffix",
    "merge-duplicate-service", "merge-written-key-twice", "metrics-matchers-lookahead",
    "metrics-no-metric-for-signal", "missing-owner", "name-differs-in-case",
    "not-regex-atomic-group", "operator-label-key-bad", "owner-empty", "ratio-out-of-range",
    "ratio-threshold-36-digits", "ratio-threshold-inf", "ratio-threshold-nan",
    "ratio-threshold-negative", "ratio-threshold-zero", "regex-backreference",
    "regex-bad-escape", "regex-lookahead", "regex-lookbehind", "regex-nested-repeat",
    "regex-possessive", "regex-repeat-reversed", "regex-repeat-too-large",
    "regex-unbalanced-bracket", "regex-unbalanced", "reserved-label", "runtime-capitalised",
    "runtime-java", "runtime-ruby", "runtime-typo", "runtime-unknown", "scrape-interval-huge",
    "scrape-interval-zero", "selector-bad-label-name", "selector-label-reserved-name",
    "selector-label-starts-with-digit", "selector-matcher-empty", "selector-regex-and-not",
    "services-empty-list", "unknown-convention", "unknown-runtime", "yaml-complex-key",
    "yaml-flow-mapping-key", "zero-static-limit"
}


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "docs/inventory.schema.json").read_text())
    assert committed == SCHEMA, "run: rulegen schema > docs/inventory.schema.json"


def test_schema_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_examples_valid_for_both(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), SCHEMA)
    assert load_inventory(path).plans


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_rejected_by_loader_and_by_schema_where_schema_can_tell(path: Path) -> None:
    with pytest.raises(InventoryError):
        load_inventory(path)
    # Read as the loader reads (alias bombs refused, positions kept), not with yaml.safe_load.
    try:
        located, problems = yamlpos.load(decode(path.read_bytes(), path.name), path.name)
    except InventoryError:
        return  # not UTF-8: nothing for a schema to say
    if any(p.check == "yaml" for p in problems):
        return  # not YAML at all (or YAML rulegen refuses): nothing for a schema to say
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(located.data))
    if path.stem in LOADER_ONLY:
        assert not errors, f"schema rejects {path.name}, which only the loader should: {errors[0]}"
    else:
        assert errors, f"schema accepts {path.name}"
