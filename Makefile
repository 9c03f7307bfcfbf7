# DataTrendz: `make demo` runs the pipeline on generated data, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
export DATATRENDZ_HOME ?= $(CURDIR)/.datatrendz
export DAGSTER_HOME ?= $(DATATRENDZ_HOME)/dagster
# Dagster's switches for runs over many days (see datatrendz_pipelines/instance.py).
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS ?= true
export DAGSTER_EVENT_BATCH_SIZE ?= 1000
# The environment turns off .pyc writing; compiled bytecode halves import times here.
export UV_COMPILE_BYTECODE := 1
UV := $(or $(shell command -v uv 2>/dev/null),$(PYTHON) -m uv)
VENV := .venv
STAMP := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)

# Demo size: make demo SCALE=medium DAYS=730
SCALE ?= small
DAYS ?= 365
HOST ?= 127.0.0.1
DAGSTER_PORT ?= 3000

.PHONY: install demo dev mlflow serve test lint format summary validate bench bench-50m clean

install: $(STAMP)

$(STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen
	@rm -f $(VENV)/.synced-*; touch $@

demo: $(STAMP)
	$(VENV)/bin/datatrendz demo --scale $(SCALE) --days $(DAYS)

summary: $(STAMP)
	$(VENV)/bin/datatrendz summary

dev: $(STAMP)
	@mkdir -p $(DAGSTER_HOME)
	@$(VENV)/bin/python -c "from datatrendz_pipelines.instance import ensure_local_instance; from datatrendz_pipelines.settings import Settings; ensure_local_instance(Settings.from_env())"
	$(VENV)/bin/dagster dev -w workspace.yaml -h $(HOST) -p $(DAGSTER_PORT)

MLFLOW_PORT ?= 5000
MLFLOW_TRACKING_URI ?= sqlite:///$(DATATRENDZ_HOME)/mlflow/mlflow.db
mlflow: $(STAMP)
	@mkdir -p $(DATATRENDZ_HOME)/mlflow
	$(VENV)/bin/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host $(HOST) --port $(MLFLOW_PORT)

# The deployment instance (dagster.yaml, PostgreSQL) with the webserver, the daemon and the MLflow UI.
DAGSTER_SERVE_HOME ?= $(DATATRENDZ_HOME)/dagster-serve
serve: $(STAMP)
	$(VENV)/bin/python -m datatrendz_pipelines.serve --host $(HOST) --dagster-home $(DAGSTER_SERVE_HOME) \
		--dagster-port $(DAGSTER_PORT) --mlflow-port $(MLFLOW_PORT)

validate: $(STAMP)
	@$(VENV)/bin/python -c "from datatrendz_pipelines.instance import ensure_local_instance; from datatrendz_pipelines.settings import Settings; ensure_local_instance(Settings.from_env())"
	$(VENV)/bin/dagster definitions validate -w workspace.yaml

test: $(STAMP)
	$(VENV)/bin/python -m pytest

# Benchmark: make bench SIZES=1M,10M REPEATS=3 (writes docs/benchmarks.md; not part of `make test`)
SIZES ?= 1M,10M
REPEATS ?= 3
BENCH_OUT ?= docs/benchmarks.md
bench: $(STAMP)
	$(VENV)/bin/python bench/run.py --sizes $(SIZES) --repeats $(REPEATS) --out $(BENCH_OUT)

# 50M order lines, once: about 40 minutes and 25 GB of scratch disk, so kept out of `make bench`.
bench-50m: $(STAMP)
	$(MAKE) bench SIZES=50M REPEATS=1 BENCH_OUT=docs/benchmarks-50m.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(DATATRENDZ_HOME) dbt_project/target dbt_project/logs .pytest_cache
