# Every README-named target bootstraps what it needs: virtualenv, the package, promtool.
PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
PROMTOOL_DIR := .tools
INVENTORY   ?= examples/otel-demo/inventory.yaml
OUT         ?= rules_out
export PROMTOOL ?= $(CURDIR)/$(PROMTOOL_DIR)/bin/promtool
# CI runs hypothesis derandomized so a red build is reproducible.
PYTEST_ARGS ?= $(if $(CI),-p no:cacheprovider --hypothesis-profile=ci,)

.PHONY: help bootstrap check generate test lint bench clean

help:
	@echo "make check     generate rules for $(INVENTORY) into $(OUT)/ and prove them with promtool"
	@echo "make test      run the test suite (pytest + hypothesis, real promtool)"
	@echo "make generate  regenerate $(OUT)/ only"
	@echo "make lint      ruff + mypy"
	@echo "make bench     run the benchmarks in bench/"

$(BIN)/rulegen: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

$(PROMTOOL_DIR)/bin/promtool: scripts/get-promtool.sh
	bash scripts/get-promtool.sh $(PROMTOOL_DIR)

bootstrap: $(BIN)/rulegen $(PROMTOOL_DIR)/bin/promtool

generate: bootstrap
	$(BIN)/rulegen generate $(INVENTORY) --out $(OUT)

check: bootstrap
	$(BIN)/rulegen generate $(INVENTORY) --out $(OUT)
	$(BIN)/rulegen test $(INVENTORY) --out $(OUT)

test: bootstrap
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: bootstrap
	$(BIN)/ruff check rulegen tests bench
	$(BIN)/mypy

bench: bootstrap
	$(BIN)/python bench/run.py --check-sizes 25,100 --serial-max 100

clean:
	rm -rf $(VENV) $(PROMTOOL_DIR) .pytest_cache .mypy_cache .hypothesis
