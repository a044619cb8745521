# Renben: `make run` starts everything, `make test` runs every test. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)

# Rasa 3.6 runs on Python 3.8-3.10 only: find a working 3.10 on PATH, then in pyenv.
PYTHON310 := $(shell for p in python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10 \
	"$$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10 ; do \
	if "$$p" -c 'import sys, venv; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then \
	echo "$$p"; break; fi; done)

RASA := $(PY) -m rasa
# Rasa's telemetry and error reports would leave the machine: off everywhere.
export RASA_TELEMETRY_ENABLED := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
TRAINING := --config config.yml --domain bot/domain --data data/nlu data/rules

.PHONY: help install lint model run test validate test-stories test-unit faults eval eval-signals eval-topics bench clean

help:
	@echo "make run    start the whole system (installs and trains when needed)"
	@echo "make test   run every test (lint, validation, unit, integration, story tests)"
	@echo "make lint   ruff (lint, and the format of core/ and tooling/) and mypy, as pyproject.toml says"
	@echo "make faults the fault suite alone (tests/faults/), with its table: fault, sent, answered, lost, doubled, wait"
	@echo "make eval   intent and signal figures on ../shared/eval, per language (report in reports/)"
	@echo "make eval-signals  the signal detector's figures alone"
	@echo "make eval-topics   topic accuracy on the blind challenge rounds (first sight, today)"
	@echo "make bench  every benchmark in bench/, as ratios against baselines measured in the same run, then a one-page summary"

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Renben needs Python 3.10 (Rasa 3.6 runs on Python 3.8-3.10 only) and none was found."; \
	  echo "Install it, then run make again:"; \
	  echo "  Debian/Ubuntu:  apt-get install python3.10 python3.10-venv"; \
	  echo "  pyenv:          pyenv install 3.10.13"; \
	  exit 1; fi
	@test -x $(PY) || { echo "Creating $(VENV) with $(PYTHON310)"; $(PYTHON310) -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

model: install
	@$(PY) -m tooling.model_store

run: model
	@$(PY) -m tooling.launch

validate: install
	$(PY) -m tooling.validation

# Every tests/test_*.yml story file (conversations, signals, privacy), in both languages.
test-stories: model
	$(RASA) test core --stories tests --model models/renben-$$($(PY) -c 'from tooling.model_store import fingerprint; print(fingerprint())').tar.gz \
	  --e2e --fail-on-prediction-errors --out reports/story-tests

test-unit: model
	$(PY) -m pytest -q

# ruff and mypy, as configured in pyproject.toml: lint everywhere, the formatter on core/ and tooling/.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check core tooling
	$(PY) -m mypy

test: lint validate test-stories test-unit

# Processes killed under running conversations (tests/faults/, also part of test-unit); prints the table.
faults: model
	$(PY) -m pytest -q tests/faults

eval: model
	@$(PY) -m tooling.evaluation

eval-signals: install
	@$(PY) -m tooling.signal_evaluation

eval-topics: model
	@$(PY) -m tooling.topic_challenge

# Every bench runs (one that fails or misses its target does not stop the others); each keeps its
# figures in BENCH_FIGURES (bench/figures.py) and bench/summary.py prints them on one page at the
# end. Fails when any bench failed.
BENCH_FIGURES := reports/bench/figures.jsonl
BENCHES := nlu_latency signal_latency handoff_latency turn_latency ws_load wechat_channel scale_out
bench: model
	@mkdir -p reports/bench && rm -f $(BENCH_FIGURES)
	@failed=""; for bench in $(BENCHES); do \
	  args=""; [ $$bench = turn_latency ] && args="--starter-dir var/bench/rasa-init"; \
	  echo "$(PY) bench/$$bench.py $$args"; \
	  RENBEN_BENCH_FIGURES=$(BENCH_FIGURES) $(PY) bench/$$bench.py $$args || failed="$$failed $$bench"; \
	done; \
	$(PY) bench/summary.py $(BENCH_FIGURES) --expect $$(echo $(BENCHES) | tr ' ' ,); \
	if [ -n "$$failed" ]; then echo "failed or missed a target:$$failed"; exit 1; fi

clean:
	rm -rf reports var/logs
