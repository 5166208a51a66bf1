# The two commands: `make report` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
DATA ?= data/demo
OUT ?= reports/build
JOBS ?= 2
PARAMS ?= params.yaml
SEED ?=
DEMO_SOURCES := $(shell find src/helpers -name 'demo*.py' 2>/dev/null)

.PHONY: help env env-spark data validate run report test lint lab bench clean template mutants coverage

help:
	@echo "make report   build the report (demonstration data by default; DATA=folder OUT=folder)"
	@echo "make test     run the test suite"
	@echo "make validate DATA=folder   check a data folder against the data contract"
	@echo "make template  write an Excel/CSV template of the input tables to data/template/"
	@echo "make mutants [MODULES='analysis/inference analysis/rates']  mutation testing (TESTING.md)"
	@echo "make coverage [SEEDS=400]  bias, coverage and power over simulated organizations (VALIDATION.md)"
	@echo "make env-spark  add Spark (local mode) for the warehouse tests"
	@echo "make data | run | lab | bench | lint | clean"

env: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip sync -q --compile-bytecode --python $(PY) requirements.lock
	@rm -f $(VENV)/.spark  # sync removed Spark: `make env-spark` adds it again
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name helpers --display-name "Python (helpers)" >/dev/null
	@touch $@

# Spark in local mode for the warehouse tests (tests/test_warehouse_spark.py run when it is
# installed; .ci/run installs it). Pinned with the rest in requirements-spark.lock.
env-spark: $(VENV)/.spark

$(VENV)/.spark: $(VENV)/.installed requirements-spark.lock
	$(VENV)/bin/uv pip install -q --python $(PY) -r requirements-spark.lock
	@touch $@

data: data/demo/truth.json

data/demo/truth.json: $(VENV)/.installed $(DEMO_SOURCES)
	$(PY) -m helpers.data.demo --out data/demo $(if $(SEED),--seed $(SEED))

validate: $(VENV)/.installed $(if $(filter data/demo,$(DATA)),data)
	$(PY) -m helpers.validate "$(DATA)" --html "reports/validation/$(notdir $(abspath $(DATA))).html"

run: $(VENV)/.installed $(if $(filter data/demo,$(DATA)),data)
	$(PY) -m helpers.pipeline --data "$(DATA)" --out "$(OUT)" --jobs $(JOBS) --no-report \
		$(if $(wildcard $(PARAMS)),--params $(PARAMS))

report: $(VENV)/.installed $(if $(filter data/demo,$(DATA)),data)
	$(PY) -m helpers.pipeline --data "$(DATA)" --out "$(OUT)" --jobs $(JOBS) \
		$(if $(wildcard $(PARAMS)),--params $(PARAMS))

test: $(VENV)/.installed data
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools
	$(VENV)/bin/ruff check --isolated --select S102,S307,S301,S506 notebooks
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix src tests tools
	$(VENV)/bin/ruff format src tests tools

template: $(VENV)/.installed
	$(PY) -m helpers.data.template --out data/template

# Mutation testing of the modules that decide numbers or privacy; not part of `make test`.
# MODULES="analysis/inference analysis/rates" runs some; the wrong implementations run only with all.
mutants: $(VENV)/.installed
	@status=0; \
	$(if $(MODULES),,$(PY) tools/wrong_implementations.py || status=1;) \
	$(PY) tools/mutants.py $(MODULES) || status=1; \
	exit $$status

# Bias, interval coverage and power of the primary findings over many simulated
# organizations; resumes an interrupted run; not part of `make test`.
SEEDS ?= 400
coverage: $(VENV)/.installed
	$(PY) tools/coverage.py --seeds $(SEEDS) $(COVERAGE_ARGS)

bench: $(VENV)/.installed data
	cd tools && ../$(PY) bench.py

lab: $(VENV)/.installed data
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf $(VENV) .cache data/demo reports/build reports/interactive reports/.*-partial-* \
		.pytest_cache .ruff_cache
