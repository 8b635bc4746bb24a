# The README's two commands: `make run` and `make test`. Both are idempotent and
# build their own virtual environment; nothing installed by hand is assumed.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# Keep Rust build products outside the clone so fresh clones rebuild incrementally.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/edxbench/cargo-target
STAMP := $(VENV)/.installed-stamp
RUST_SOURCES := $(shell find rustcore -name '*.rs' -o -name 'Cargo.toml' -o -name 'Cargo.lock' 2>/dev/null)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install system-deps lint bench clean reliability

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(RUST_SOURCES) | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests need: tmux drives the real app as a person would; chromium
# opens the HTML report for a screenshot.
system-deps:
	@command -v tmux >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq tmux; }
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

run: install
	$(VENV)/bin/edxbench $(ARGS)

lint: install
	$(VENV)/bin/ruff check .
	cargo clippy --quiet --manifest-path rustcore/Cargo.toml --all-targets -- -D warnings

test: install system-deps
	cargo test --quiet --manifest-path rustcore/Cargo.toml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The reliability suite at full counts (tests/reliability/README.md); `make test` runs it
# reduced. Every figure is printed in the summary at the end.
reliability: install system-deps
	EDXBENCH_FULL=1 EDXBENCH_KILL_POINTS=50 $(VENV)/bin/python -m pytest tests/reliability \
		-p no:cacheprovider --timeout=3600 $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/python benchmarks/bench_rustcore.py

clean:
	rm -rf $(VENV)
