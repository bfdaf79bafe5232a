# Two entry points: `make lab` (set up, then open the course) and `make test` (set up, then run all tests).
# Setup is idempotent: the virtual environment is (re)installed only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tfcourse-installed
CHAPTER ?= course/01_tensors/01_tensors.ipynb
# pytest workers (pytest-xdist); each notebook's tests stay in one worker (--dist loadfile).
TEST_WORKERS ?= 2

.PHONY: setup lab test build format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# JupyterLab serves the whole course folder (so nbgrader and every chapter are reachable) and opens
# CHAPTER; --allow-root lets it start in containers and CI, which run as root.
lab: setup
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/jupyter lab --allow-root --ServerApp.root_dir=. \
		--LabApp.default_url=/lab/tree/$(CHAPTER)

# Tests never download: TFCOURSE_OFFLINE makes the data loaders use the Keras cache or the offline data.
test: setup
	TFCOURSE_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

build: setup
	$(BIN)/tfcourse build

format: setup
	$(BIN)/tfcourse format

clean:
	rm -rf $(VENV) grading .pytest_cache
