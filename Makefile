# The two commands: `make run` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint translations extract-messages bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Compiled catalogs are build output (not in git): rebuilt whenever a .po changes.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard community/translations/*/LC_MESSAGES/messages.po))
community/translations/%/LC_MESSAGES/messages.mo: community/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -l $* -i $< -o $@

translations: $(STAMP) $(MO_FILES)

# Re-extract UI strings after changing templates or code; then translate the new ja entries.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location --sort-output \
		--ignore-dirs ".* .venv instance tests bench migrations" \
		-o community/translations/messages.pot .
	$(BIN)/pybabel update -i community/translations/messages.pot -d community/translations \
		--no-fuzzy-matching --ignore-obsolete

# HOST and PORT reach the app too: without BASE_URL, its links lead where the server listens.
# A worker runs the timed jobs beside the server (cron's work in production) and stops with it.
run: translations
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo "Serving on http://$(HOST):$(PORT)"
	export HOST=$(HOST) PORT=$(PORT); \
		$(BIN)/flask worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT; \
		$(BIN)/flask run --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# The suite in TEST_WORKERS processes (pytest-xdist; 0: in this one), a test file to each at a
# time: each process migrates its own SQLite template and PostgreSQL schema.
TEST_WORKERS ?= 2
test: translations lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.calendar

clean:
	rm -rf $(VENV) instance/community.db tests/artifacts
