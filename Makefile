# xmodal: the two commands a newcomer needs are `make book` and `make test`.
# Both create .venv when it is missing and install exactly the versions pinned in
# constraints.txt (the one place where versions are pinned; torch/torchvision included).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
XMODAL := $(VENV)/bin/xmodal
STUDY ?= default
JOBS ?= 2
DATA ?= data/$(STUDY)
RUNS ?= runs
# MathJax is served from the book itself (no CDN); it comes from the npm registry.
MATHJAX_VERSION := 3.2.2
MATHJAX_DIR := .cache/npm/node_modules/mathjax
STAMP := $(VENV)/.xmodal-installed

.PHONY: help install lint test test-fast book data study results quick tuned calibrated regime browser mathjax clean clean-runs

help:
	@echo "make book   - install, make the synthetic data, run the '$(STUDY)' study, build the book"
	@echo "make test   - install, lint and run the whole test suite (under 10 minutes on 2 cores)"
	@echo "make test-fast - the tests that neither train, nor generate data, nor start kernels (under a minute)"
	@echo "make study  - run (or resume) the '$(STUDY)' study only;  make quick - the quick profile"
	@echo "make tuned  - the tuned profile: equal tuning on validation scenes, its runs and archive (long)"
	@echo "make calibrated - search the world knobs that match the paper's Baselines, its runs and archive (long)"
	@echo "make regime - the regime map: a grid of worlds around the calibrated one, its runs and archive (long)"
	@echo "Variables: STUDY=quick|default|sensors|latent|paper  JOBS=$(JOBS)  DATA=<SEN12MS root>  RUNS=$(RUNS)"

# --- installation --------------------------------------------------------------
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || { echo ">> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo ">> installing torch and torchvision (pinned in constraints.txt)"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt torch torchvision
	@echo ">> installing xmodal and its dependencies"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[book,dev]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (xmodal)" >/dev/null
	@touch $@

install: $(STAMP)

$(MATHJAX_DIR)/es5/tex-chtml.js:
	@command -v npm >/dev/null || { echo "npm is needed once to fetch MathJax $(MATHJAX_VERSION) from the npm registry"; exit 1; }
	@echo ">> fetching MathJax $(MATHJAX_VERSION) from the npm registry (served locally by the book)"
	npm install --silent --no-audit --no-fund --no-save --prefix .cache/npm mathjax@$(MATHJAX_VERSION)

mathjax: $(MATHJAX_DIR)/es5/tex-chtml.js

# Headless Chromium for the browser test of the book (Debian's packages).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo ">> installing Debian's chromium and chromium-driver"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# --- tests ---------------------------------------------------------------------
# Style and types are kept by tools (configured in pyproject.toml), in seconds.
lint: $(STAMP)
	$(VENV)/bin/ruff check xmodal tests benchmarks
	$(VENV)/bin/mypy

# The whole suite, on TEST_JOBS processes (pytest-xdist): a test file stays on one process, so its
# module fixtures are made once, and the slowest files go first (tests/conftest.py) so that the
# processes finish together; the quick profile and the book's study are trained once for all of them.
TEST_JOBS ?= 2
test: $(STAMP) mathjax browser lint
	MPLBACKEND=Agg $(PY) -m pytest -n $(TEST_JOBS) --dist loadfile

# The fast tier, for contributors while they work: no training, no data generation, no kernels
# (tests/conftest.py refuses them in this tier, so a test that needs one must be marked slow).
test-fast: $(STAMP)
	XMODAL_TEST_TIER=fast MPLBACKEND=Agg $(PY) -m pytest -q -p no:cacheprovider

# --- the study and the book ----------------------------------------------------
$(DATA)/xmodal_synthetic.json: xmodal/studies/$(STUDY).yaml | $(STAMP)
	$(XMODAL) data synth --study $(STUDY) --out $(DATA)

data: $(STAMP)
	@if [ "$(STUDY)" = paper ]; then echo "The paper profile runs on a real SEN12MS download: make study STUDY=paper DATA=/path/to/SEN12MS"; \
	else $(MAKE) --no-print-directory $(DATA)/xmodal_synthetic.json; fi

study: data
	MPLBACKEND=Agg $(XMODAL) sweep --study $(STUDY) --jobs $(JOBS) --data $(DATA) --runs $(RUNS)

results: $(STAMP)
	$(XMODAL) results --study $(STUDY) --runs $(RUNS) --csv $(RUNS)/$(STUDY)/results.csv

# The book is built even when some runs failed (it shows what finished); make still
# exits non-zero then, after printing the sweep's summary of failures.
book: data mathjax
	@status=0; MPLBACKEND=Agg $(XMODAL) sweep --study $(STUDY) --jobs $(JOBS) --data $(DATA) --runs $(RUNS) || status=$$?; \
	if [ "$(STUDY)" = default ]; then MPLBACKEND=Agg $(XMODAL) sweep --study budget --jobs $(JOBS) --data $(DATA) --runs $(RUNS) || status=$$?; fi; \
	if [ "$(STUDY)" != paper ]; then $(XMODAL) clouds --study $(STUDY) --data $(DATA) --runs $(RUNS) --quiet || status=$$?; fi; \
	MPLBACKEND=Agg $(XMODAL) book --study $(STUDY) --runs $(RUNS) --data $(DATA) || exit $$?; \
	if [ $$status != 0 ]; then echo "Some runs of the '$(STUDY)' study failed (see above); the book shows the finished ones."; fi; \
	exit $$status

quick:
	$(MAKE) --no-print-directory book STUDY=quick

# The tuned profile (not part of `make book`: it takes longer than the book's 30 minutes): equal
# tuning of every Figure 2 model on the default study's validation scenes, its final runs, and the
# archive the book renders (xmodal/archives/tuned.json).
tuned: data
	MPLBACKEND=Agg $(XMODAL) tune --study tuned --jobs $(JOBS) --data $(DATA) --runs $(RUNS)
	$(XMODAL) archive --study tuned --runs $(RUNS)

# The calibrated world and the regime map (not part of `make book` either): the search of the world
# knobs that make the Baselines score the paper's weighted F1, then the Baselines on 10 seeds in the
# calibrated world; the grid of worlds around it. Each ends with the archive the book renders
# (xmodal/archives/calibrated.json, xmodal/archives/regime.json).
calibrated: $(STAMP)
	MPLBACKEND=Agg $(XMODAL) calibrate --study calibrated --jobs $(JOBS) --runs $(RUNS)
	$(XMODAL) archive --study calibrated --runs $(RUNS)

regime: $(STAMP)
	MPLBACKEND=Agg $(XMODAL) regime --study regime --jobs $(JOBS) --runs $(RUNS)
	$(XMODAL) archive --study regime --runs $(RUNS)

clean:
	rm -rf _build book/_generated
clean-runs:
	rm -rf $(RUNS)
