"""The JSON Schema and the loader agree: one model serves both, and the committed schema file
is what `rulegen schema` prints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from rulegen.errors import InventoryError
from rulegen.inventory import json_schema
from rulegen.loader import load_inventory
from tests.conftest import ROOT

SCHEMA = json_schema()
EXAMPLES = sorted((ROOT / "examples").glob("**/*.yaml"))
BROKEN = sorted((ROOT / "tests/inventories/broken").glob("*.yaml"))
# Broken inventories whose mistake is one of shape or type: the schema must catch them too.
# The rest (duplicates, unknown runtime, for > window, ...) need the catalog or two fields.
SCHEMA_LEVEL = {"unknown-key", "unknown-family", "wrong-type", "bad-size", "negative-threshold",
                "not-a-mapping", "missing-services", "many-errors"}


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
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return  # not YAML at all: nothing for a schema to say
    errors = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if path.stem in SCHEMA_LEVEL:
        assert errors, f"schema accepts {path.name}"
    else:
        assert not errors, f"schema rejects {path.name}, which only the loader should: {errors[0]}"
