# Every target creates or reuses the local virtualenv, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run demo test lint check bench bench-quick soak deploy-sync clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)            ## run the gateway with CONFIG (default config/gateway.toml)
	$(BIN)/python -m gateway serve --config $${CONFIG:-config/gateway.toml}

demo: $(STAMP)           ## simulator + gateway on 127.0.0.1, offline, with a fresh demo licence
	$(BIN)/python -m gateway demo

test: $(STAMP)           ## the test suite (what CI runs); the Redis tests start their own redis-server
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing and this is not root: the Redis store tests will be skipped" >&2; fi; }
	$(BIN)/python -m pytest -rs --cov=gateway --cov-report=term:skip-covered --cov-fail-under=90

lint: $(STAMP)           ## ruff, mypy --strict and the import-layer contracts
	$(BIN)/ruff check gateway tests workers bench
	$(BIN)/ruff format --check gateway tests workers bench
	$(BIN)/mypy
	$(BIN)/lint-imports

check: lint test

bench: $(STAMP)          ## benchmarks, ~12 min on 2 cores (wrk, taskset); prints a Markdown table, writes bench/results/
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk is missing and this is not root: install Debian's wrk package" >&2; exit 1; fi; }
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "redis-server is missing and this is not root: install Debian's redis-server package (M11)" >&2; exit 1; fi; }
	$(BIN)/python -m bench

bench-quick: $(STAMP)    ## the same harness at smoke sizes, ~30 s (Python client only, no wrk, no pinning)
	$(BIN)/python -m bench --quick

soak: $(STAMP)           ## a bounded soak on loopback (SOAK_MINUTES, default 30); prints Markdown tables
	$(BIN)/python -m bench.soak

deploy-sync:             ## copy config/models.toml into deploy/k8s/base (kustomize reads no file outside it)
	cp config/models.toml deploy/k8s/base/models.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo
