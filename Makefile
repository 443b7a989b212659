# ferrokube — `make run` starts a single-node server; `make test` builds and passes every test.
# Both install what they need first (Debian packages, a Python venv) and keep the cargo
# target directory outside the clone, under $(HOME)/.cache/ferrokube, so builds stay warm.

SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/ferrokube
export CARGO_TARGET_DIR ?= $(CACHE)/target
VENV ?= $(CACHE)/venv
# The binary this tree built, linked into the clone: a shared target dir may be rebuilt
# from another tree meanwhile, and tests must run this tree's server.
BIN := $(CURDIR)/.bin/ferrokube
DATA ?= $(CURDIR)/.data
LISTEN ?= 127.0.0.1:6443
export FERROKUBE_BIN := $(BIN)
# CI builds each fresh clone once: incremental state would only fill the disk.
ifeq ($(CI),true)
export CARGO_INCREMENTAL := 0
endif

.PHONY: all deps venv build run test test-rust test-python lint fmt bench bench-store bench-workloads conformance clean-data

all: build

deps:
	@hack/deps.sh

venv: deps
	@hack/venv.sh "$(VENV)"

build: deps
	@hack/cache-key.sh "$(CARGO_TARGET_DIR)"
	cargo build --bin ferrokube
	@mkdir -p "$(dir $(BIN))" && { ln -f "$(CARGO_TARGET_DIR)/debug/ferrokube" "$(BIN)" 2>/dev/null || cp -f "$(CARGO_TARGET_DIR)/debug/ferrokube" "$(BIN)"; }

run: build
	$(BIN) server --data-dir "$(DATA)" --listen "$(LISTEN)"

lint: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: build venv
	cargo build --workspace --tests
	cargo test --workspace
	$(MAKE) test-python
	@if [ "$${CI:-}" = "true" ]; then $(MAKE) lint; fi

test-python: build venv
	FERROKUBE_BIN="$(BIN)" "$(VENV)/bin/python" -m pytest -q conformance/python

conformance: build
	cargo test -p conformance

bench-store: deps
	@hack/bench-store.sh

bench: deps
	@hack/bench.sh

bench-workloads: deps
	@hack/bench-workloads.sh

fmt:
	cargo fmt --all

clean-data:
	rm -rf "$(DATA)"
