# Every README-named target bootstraps what it needs: virtualenv, the package, promtool.
PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
PROMTOOL_DIR := .tools
# promtool + prometheus release lines, side by side in $(PROMTOOL_DIR)/prometheus-<line>/bin/
# (each with a VERSION file saying what was installed, from where). $(PROMTOOL_DIR)/bin/ links
# to the default line's binaries; `make test` proves on every line.
PROMTOOL_LINES   := 2.42 3.5
PROMTOOL_DEFAULT := 2.42
INVENTORY   ?= examples/otel-demo/inventory.yaml
OUT         ?= rules_out
export PROMTOOL ?= $(CURDIR)/$(PROMTOOL_DIR)/bin/promtool
# CI runs hypothesis derandomized so a red build is reproducible.
PYTEST_ARGS ?= $(if $(CI),-p no:cacheprovider --hypothesis-profile=ci,)

.PHONY: help bootstrap check generate test lint bench clean

help:
	@echo "make check     generate rules for $(INVENTORY) into $(OUT)/ and prove them with promtool"
	@echo "make test      run the test suite (pytest + hypothesis, real promtool $(PROMTOOL_LINES))"
	@echo "make generate  regenerate $(OUT)/ only"
	@echo "make lint      ruff + mypy"
	@echo "make bench     run the benchmarks in bench/"

$(BIN)/rulegen: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

# Debian's packages, pinned, via a temporary apt sources list (see scripts/get-promtool.sh).
$(PROMTOOL_DIR)/prometheus-2.42/bin/promtool: scripts/get-promtool.sh
	bash scripts/get-promtool.sh --line 2.42 $(PROMTOOL_DIR)/prometheus-2.42

# Optional: if 3.5 cannot be had, the reason is written to prometheus-3.5/UNAVAILABLE and its
# tests skip with it (the fetch is tried again on the next make).
$(PROMTOOL_DIR)/prometheus-3.5/bin/promtool: scripts/get-promtool.sh
	bash scripts/get-promtool.sh --line 3.5 --optional $(PROMTOOL_DIR)/prometheus-3.5

$(PROMTOOL_DIR)/bin/promtool: $(PROMTOOL_DIR)/prometheus-$(PROMTOOL_DEFAULT)/bin/promtool
	mkdir -p $(@D)
	ln -sfn ../prometheus-$(PROMTOOL_DEFAULT)/bin/promtool $(@D)/promtool
	ln -sfn ../prometheus-$(PROMTOOL_DEFAULT)/bin/prometheus $(@D)/prometheus

# pint (docs/pint.md), built with go install at the version pinned in the script. Optional: if
# it cannot be built here (exit 3, the reason on stderr) tests/test_pint.py skips with that
# reason; any other failure stops make. Tried again on the next make.
$(PROMTOOL_DIR)/bin/pint: scripts/get-pint.sh
	bash scripts/get-pint.sh $(PROMTOOL_DIR) || test $$? -eq 3

bootstrap: $(BIN)/rulegen $(PROMTOOL_DIR)/bin/promtool \
	$(foreach line,$(PROMTOOL_LINES),$(PROMTOOL_DIR)/prometheus-$(line)/bin/promtool) \
	$(PROMTOOL_DIR)/bin/pint

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
