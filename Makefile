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

## Install, then lint and run every test (what CI runs): tests/unit and tests/e2e, whose DVC tests
## share one smoke `dvc repro`, run in the background while the others run (tests/e2e/conftest.py).
test: install
	$(BIN)/ruff check src tests stages
	$(BIN)/ruff format --check src tests stages
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q

## Install, then lint and run the unit tests only (tests/unit: no DVC, browser, ssh or Ray): a minute or two.
test-fast: install
	$(BIN)/ruff check src tests stages
	$(BIN)/ruff format --check src tests stages
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -q -m "not slow" tests/unit

clean:
	rm -rf $(VENV) dvc_plots .pytest_cache
