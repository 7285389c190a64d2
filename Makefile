# Two commands: `make demo` (the main job) and `make test` (the whole suite).
# Everything lives in .venv inside the repository; nothing is registered outside it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The revision `make bench` compares against (main before the speed work).
BENCH_BEFORE ?= c126d6c

.PHONY: setup demo test lint release bench bench-all clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

demo: setup
	$(BIN)/python -m solutions.demo

test: setup
	$(BIN)/python -m pytest

# Style, as CI enforces it (.ci/run): ruff, pinned so that its rules do not move under us.
lint: setup
	$(BIN)/pip install --quiet "ruff==0.17.6"
	$(BIN)/ruff check autograder tests benchmarks solutions setup.py nbgrader_config.py

bench: setup
	$(BIN)/python -m benchmarks.check_speed --before $(BENCH_BEFORE)

# The three ratios of the speed goals in one run (five riddles before/after, nbgrader with and
# without the riddle preprocessor, riddles grade against nbgrader autograde); takes minutes.
bench-all: setup
	$(BIN)/python -m benchmarks.ratios --before $(strip $(BENCH_BEFORE)),5af1777

clean:
	rm -rf $(VENV) out demo

# Regenerate the released notebooks from source/ (CI fails when they drift).
release: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment riddles --force
