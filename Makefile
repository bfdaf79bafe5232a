# Two entry points: `make lab` (set up, then open the course) and `make test` (set up, then run the tests).
# Setup is idempotent: the virtual environment is (re)installed only when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.tfcourse-installed
CHAPTER ?= course/01_tensors/01_tensors.ipynb
# pytest workers (pytest-xdist): each test file and each test class stays in one worker (--dist loadscope),
# so a notebook's nbval cells share a kernel while the chapter gradings (one class each) spread out.
# --no-loadscope-reorder keeps the order of tests/conftest.py, which hands out the longest tests first.
# Three workers on 2 cores: one notebook kernel keeps only about one core busy (Python, small models,
# start-up), so a third worker finishes the same notebooks about 11 % sooner than two (measured on
# solution notebooks run side by side: 0.61 s of wall time per second of work with 2, 0.54 with 3,
# 0.56 with 4).
TEST_WORKERS ?= 3
# What `make test` runs. tests/test_chapters.py grades every solution and every student notebook of
# course/ and checks each executed cell as nbval --nbval-lax would, so nbval itself runs chapter 1 only,
# in a plain kernel as a learner's; `make nbval` runs it over every student notebook (about 4 minutes).
TEST_PATHS ?= tests course/01_tensors

.PHONY: setup lab test nbval build format bench clean

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

# Tests never download: TFCOURSE_OFFLINE makes the data loaders use the Keras cache, a system data
# package (dataset-fashion-mnist) or the offline digits. Both are put into the Keras cache first,
# because the grading sandbox can read the Keras cache but not write it: the system package's
# Fashion-MNIST (copied, when installed) and chapter 10's pretrained base (trained once), which every
# sandboxed run of chapter 10 would otherwise train again.
test: setup
	TFCOURSE_OFFLINE=1 $(BIN)/python -m course_utils.data
	TFCOURSE_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m course_utils.pretrained
	TFCOURSE_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope \
		--no-loadscope-reorder --durations=30 $(TEST_PATHS)

nbval: setup
	TFCOURSE_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope course

build: setup
	$(BIN)/tfcourse build

format: setup
	$(BIN)/tfcourse format

# The benchmark of README's "Benchmark" section: every chapter through the grader, plus grading
# throughput with 1 and 2 workers; the table goes to bench/latest.md and bench/latest.csv.
bench: setup
	TFCOURSE_OFFLINE=1 $(BIN)/python -m course_utils.data
	TFCOURSE_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python -m course_utils.pretrained
	TFCOURSE_OFFLINE=1 TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/tfcourse bench --throughput-chapter 04_keras_models

clean:
	rm -rf $(VENV) grading .pytest_cache
