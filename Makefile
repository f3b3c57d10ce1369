# slurm-search: `make run` sets everything up and runs the main job;
# `make test` sets everything up and runs the tests. Both create .venv on
# first use and reuse it afterwards.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
PARTS  := locking state session dsl rl

# compat mode puts each package's src/ on sys.path, so the slurm_search
# namespace spans the five packages exactly as it does when installed.
EDITABLE := --config-settings editable_mode=compat $(foreach p,$(PARTS),-e packages/$(p)) -e .

.PHONY: all install system-deps run test lint bench docs dist clean

all: test

$(STAMP): pyproject.toml $(foreach p,$(PARTS),packages/$(p)/pyproject.toml) requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	@# The CPU build of torch, pinned so that pip takes the wheel that lies on
	@# this machine's disk instead of downloading a CUDA build of several GB.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet $(EDITABLE) -r requirements-dev.txt
	@touch $@

install: $(STAMP) system-deps

# System programs, installed with apt-get where we can (root), else we say how:
# graphviz's `dot` draws experiment ASTs (run_exp --display-ast=graph); bindfs
# (FUSE views of one folder) and strace (a flock that fails with ENOSYS) let
# the tests play two hosts sharing a filesystem (tests/fs_views.py); chromium
# and its driver load `ssearch dashboard` in a headless browser in the tests.
SYSTEM_DEPS := dot:graphviz bindfs:bindfs strace:strace fusermount3:fuse3 chromium:chromium chromedriver:chromium-driver

system-deps:
	@missing=""; for pair in $(SYSTEM_DEPS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (graphviz draws ASTs; the rest serve the tests)"; \
	    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null)); \
	  else \
	    echo "note: missing$$missing; install them (apt-get install$$missing): graphviz for run_exp --display-ast=graph, the others for the shared-filesystem tests"; \
	  fi; \
	fi

# The layering (no upward imports, no private reach-ins, no import cycles),
# ruff and mypy over packages/*/src (settings in pyproject.toml).
lint: install
	$(PY) tools/check_layers.py
	$(VENV)/bin/ruff check packages/locking/src packages/state/src packages/session/src packages/dsl/src packages/rl/src
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

# The main job: hp_tuning_effects for real (A2C on CartPole, 40 trainings on
# 2 local worker processes, about 2 minutes on 2 cores).
run: install
	$(VENV)/bin/run_exp hp_tuning_effects --search:method=cpu --search:threads=2 \
	    --search:settings=10 --search:runs_per_setting=3 --eval:runs=5 \
	    --run:train_frames=10000 --run:test_episodes=10

# fusepy serves bench/slowfs.py (a FUSE passthrough with NFS-like latencies);
# optuna, the baseline of several benches, comes with requirements-dev.txt.
bench: install
	$(PIP) install --quiet fusepy
	$(PY) bench/run_all.py

# The documentation site (mkdocs.yml, docs/) into site/; --strict fails on a
# broken link, reference or docstring. Its hook runs ssearch, run_exp and dot.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Wheels and sdists of the five packages and the meta-package into dist/,
# checked by twine (metadata, README rendering).
dist: install
	rm -rf dist
	for p in $(PARTS); do $(PY) -m build --quiet --outdir dist packages/$$p || exit 1; done
	$(PY) -m build --quiet --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis site dist
