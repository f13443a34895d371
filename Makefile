# Two entry points, each setting up its own virtual environment first:
#   make demo   the offline clinic demo (embedded PostgreSQL, synthetic camera, local Gemini Live emulator)
#   make test   lint, mypy --strict and the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_SECONDS ?= 20

.PHONY: demo test lint typecheck pytest bench clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[demo]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/python examples/clinic_agent.py demo --seconds $(DEMO_SECONDS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

system-packages:
	bash scripts/system-packages.sh

# pytest keeps only its three newest base folders per user under the temp root, so test runs
# from several checkouts on one machine would delete each other's databases: one root each.
PYTEST_TEMPROOT ?= /tmp/medvision-pytest-$(notdir $(CURDIR))

pytest: $(VENV)/.dev-installed system-packages
	mkdir -p $(PYTEST_TEMPROOT)
	PYTEST_DEBUG_TEMPROOT=$(PYTEST_TEMPROOT) $(BIN)/pytest

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/vision_encode.py
	$(BIN)/python benchmarks/vision_capture.py
	$(BIN)/python benchmarks/patient_lookup.py
	$(BIN)/python benchmarks/fleet.py
	$(BIN)/python benchmarks/emulator_loop.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
