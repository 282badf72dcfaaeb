# Two commands: `make run` (install + full pipeline, quick profile) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test test-fast install clean

$(BIN)/annstudy: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,ssh]'
	@touch $@

install: $(BIN)/annstudy

## Install, then run the whole pipeline (`dvc repro`, quick profile) and print the report's path.
run: install
	@test -d .dvc || $(BIN)/dvc init --quiet
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro
	@echo "report: $(abspath reports/report.html) (and reports/report.md)"
	@# Did this run reproduce the committed numbers? (a verdict per metric: `annstudy verify`)
	@$(BIN)/annstudy verify | tail -n 1 || true

## Install, then run the test suite (what CI runs).
test: install
	$(BIN)/ruff check src tests stages
	$(BIN)/ruff format --check src tests stages
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

## Install, then lint and run the fast tests only (no DVC, browser, ssh or Ray): a minute or two.
test-fast: install
	$(BIN)/ruff check src tests stages
	$(BIN)/ruff format --check src tests stages
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m "not slow" tests/unit

clean:
	rm -rf $(VENV) dvc_plots .pytest_cache
