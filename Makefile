# Quick start: `make demo` and `make test`. Both run `make setup` first, which is idempotent.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm \
	qemu-system-misc \
	gdb-multiarch gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf espeak-ng sox
STAMP := $(VENV)/.setup-done

.PHONY: setup demo test test-fast test-renode lint bench fuzz clean
setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "== installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,quantize]'
	@touch $(STAMP)

demo: setup
	$(BIN)/python -m mcuforge.demo

test: setup
	$(BIN)/ruff check toolchain tests $(wildcard models)
	$(BIN)/python -m pytest -q -n 2 tests

# The fast set: no emulator boots.
test-fast: setup
	$(BIN)/python -m pytest -q -m "not qemu and not slow" tests

# Where Renode is installed (renode and renode-test on PATH): every Renode board of the catalog,
# protocol test, Robot suite and GDB flashing. Without Renode these tests skip (make test too).
test-renode: setup
	$(BIN)/python -m pytest -q -m renode tests

lint: setup
	$(BIN)/ruff check toolchain tests $(wildcard models)

# A long mutation-fuzzing campaign (hours): findings land in build/fuzz-findings; once fixed,
# move them to tests/fuzz_regressions/ (tests/test_fuzz.py replays them). `make test` runs a
# short seeded campaign.
FUZZ_MUTANTS ?= 100000
FUZZ_GRAPH_MUTANTS ?= 20000
FUZZ_SEED ?= 1
FUZZ_JOBS ?= 2
fuzz: setup
	nice -n 19 $(BIN)/python tests/fuzz.py --mutants $(FUZZ_MUTANTS) --seed $(FUZZ_SEED) \
		--jobs $(FUZZ_JOBS) --save build/fuzz-findings --log build/fuzz.log
	nice -n 19 $(BIN)/python tests/fuzz.py --mutator graph --mutants $(FUZZ_GRAPH_MUTANTS) \
		--seed $(FUZZ_SEED) --jobs $(FUZZ_JOBS) --save build/fuzz-findings --log build/fuzz-graph.log

bench: setup
	$(BIN)/python -m mcuforge.benchtable docs/benchmarks.md

clean:
	rm -rf build dist .pytest_cache
