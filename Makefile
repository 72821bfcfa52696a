# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
PORT ?= 8080
HOST ?= 127.0.0.1
SOAK_MINUTES ?= 3

.PHONY: soak ensure-java ensure-chromium vendor-chartjs bench-screen ensure-redis ensure-wrk ensure-podman image-test deploy-lint setup setup-runtime setup-node run test lint typecheck pytest elm check-elm \
        conformance compare bench-engine bench-service clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@

cql/node_modules/.installed: cql/package.json cql/package-lock.json
	cd cql && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup-runtime: $(VENV)/.runtime
setup: $(VENV)/.dev cql/node_modules/.installed
setup-node: cql/node_modules/.installed

# Development mode: no JWT is asked of callers (a warning is logged), so it listens on loopback
# unless HOST says otherwise. Production (the default without TRD_ENV) requires JWTs.
run: setup-runtime
	TRD_ENV=$${TRD_ENV:-development} $(BIN)/trd-cds serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev
	$(BIN)/ruff check service tests bench
	$(BIN)/mypy

elm: setup-node
	node cql/tools/build-elm.mjs

check-elm: setup-node
	node cql/tools/build-elm.mjs --check

pytest: setup ensure-java ensure-chromium
	$(BIN)/pytest -q

conformance: setup
	$(BIN)/trd-cds cql conformance $(SHARED)/cql-tests/cql --baseline tests/engine/conformance_baseline.json

compare: setup
	node cql/tools/reference-run.mjs --check

# The tests start their own redis-server when none answers on 127.0.0.1:6379; make sure the
# binary exists (Debian package) so they can.
ensure-redis:
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }

# The Spark test and benchmark run PySpark in local mode on Java 17 (Debian package).
ensure-java:
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

# Headless Chromium and its driver for the browser tests of the web pages (Debian packages;
# never a browser downloaded by a test tool).
ensure-chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }

# Refreshes the timeline page's vendored Chart.js from npm (its released minified file).
vendor-chartjs:
	bash tools/refresh-chartjs.sh $(CHARTJS_VERSION)

# The service benchmark's load generator (Debian package).
ensure-wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

# The image is built and run with podman (no Docker engine needed); the base image comes from
# mmdebstrap because no container registry is assumed reachable.
ensure-podman:
	@command -v podman >/dev/null && command -v buildah >/dev/null && command -v mmdebstrap >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq podman buildah runc mmdebstrap; }

image-test: ensure-podman ensure-redis
	bash deploy/image-test.sh

deploy-lint:
	bash deploy/lint.sh

test: setup ensure-redis ensure-java ensure-chromium lint check-elm pytest conformance compare deploy-lint image-test

bench-engine: setup
	$(BIN)/python bench/bench_engine.py

bench-service: setup ensure-wrk
	$(BIN)/python bench/bench_service.py

bench-screen: setup ensure-java
	$(BIN)/python bench/bench_screen.py

soak: setup
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) cql/node_modules .pytest_cache .mypy_cache .ruff_cache
