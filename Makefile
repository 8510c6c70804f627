# XGet: `make demo` and `make test` are all a new user needs (README, quick start).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
SERVE  ?= 1
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint docs bench lock validate ui clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	# Debian's Python makes venvs only with python3-venv (ensurepip): installed if missing.
	$(PYTHON) -c "import ensurepip" 2>/dev/null || scripts/debian-packages.sh python3-venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	# The VADER 2014 rated tweets ship only in vaderSentiment's sdist: keep it beside the venv's data.
	test -f $(VENV)/share/xget/vaderSentiment-3.3.2.tar.gz || $(BIN)/python -m pip download -q --no-deps \
	  --no-binary :all: vaderSentiment==3.3.2 -d $(VENV)/share/xget
	touch $(STAMP)

demo: install
	$(BIN)/xget demo $(if $(filter 0,$(SERVE)),--no-serve,--serve)

# Everything a fresh Debian machine needs first: lint and the documentation site (both strict), then the Debian
# packages and servers the tests use (tests/services/prepare.sh writes where they are to
# .xget/test-services.env), then the suite.
# The suite runs on TEST_WORKERS pytest-xdist workers, one module at a time each (module fixtures such as the
# demo's stay on one worker), the slowest modules first (tests/conftest.py); TEST_WORKERS=0 runs it in one
# process. Three on two cores: most tests wait on servers and rate-limit windows, not on the CPU.
TEST_WORKERS ?= 3
test: install lint docs
	tests/services/prepare.sh
	set -a && . .xget/test-services.env && set +a && $(BIN)/python -m pytest -q \
	  $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder)

lint: install
	$(BIN)/ruff check xget_pipelines tests bench docs/hooks
	$(BIN)/ruff format --check xget_pipelines tests bench docs/hooks

bench: install
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/scrape.py
	$(BIN)/python bench/lease.py
	$(BIN)/python bench/merge.py
	$(BIN)/python bench/sentiment.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/trends.py
	$(BIN)/python bench/coordination.py
	$(BIN)/python bench/graph.py
	$(BIN)/python bench/analytics.py

validate: install
	$(BIN)/dagster definitions validate -w workspace.yaml

ui: install
	DAGSTER_HOME=$(CURDIR)/.xget/dagster $(BIN)/dagster dev -w workspace.yaml

# The documentation site (mkdocs.yml, docs/) into site/, offline; --strict fails on a broken link or anchor, and
# docs/hooks/reference.py generates the settings, CLI and REST routes references from the code during the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Re-resolve the lock file from pyproject.toml (needs PyPI).
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install -q --upgrade pip
	.lockenv/bin/python -m pip install -q -e '.[test,docs]'
	.lockenv/bin/python -m pip freeze --exclude-editable | grep -v '^-e' \
	  | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock  # the local CPU build, by its public version
	rm -rf .lockenv

clean:
	rm -rf .xget
