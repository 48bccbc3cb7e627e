# Savitarna. A newcomer needs two targets: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi

.PHONY: install translations messages run serve test lint e2e unit bench profile wheel clean screenshots

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Compile the catalogues (fuzzy entries are never compiled).
translations: install
	$(BIN)/pybabel compile --domain messages --directory translations

# For developers: re-extract the strings and merge them into the catalogues.
messages: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --ignore-dirs '.* .venv' \
		--keywords _l --keywords lazy_gettext --keywords lazy_ngettext:1,2 \
		--no-location --sort-output --project Savitarna --output-file translations/messages.pot .
	$(BIN)/pybabel update --input-file translations/messages.pot --output-dir translations \
		--no-fuzzy-matching --ignore-obsolete

# Install, migrate the SQLite database, load the demo tenants and contracts, add the
# demo portal's OpenID Connect client (flask portal-demo), serve at http://localhost:PORT:
# passkeys need a host name (a WebAuthn relying party cannot be an IP address), and
# localhost is a secure context over plain http.
run: translations
	APP_ENV=development $(FLASK) db upgrade
	APP_ENV=development $(FLASK) tenants load data/tenants.toml
	APP_ENV=development $(FLASK) contracts import elektrum data/elektrum-contracts.csv
	APP_ENV=development $(FLASK) oidc clients demo
	APP_ENV=development PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(PORT)} $(FLASK) run --host localhost --port $(PORT)

# The production server: gunicorn with gunicorn.conf.py (README, "Production").
# Needs SECRET_KEY, PUBLIC_URL and DATABASE_URL, a migrated database (flask db upgrade) and
# loaded tenants; REDIS_URL once there is more than one instance.
serve: translations
	APP_ENV=production $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

# The whole suite: unit, integration (SQLite, and PostgreSQL when
# TEST_DATABASE_URL is set) and browser tests.
# The bench extra too: tests/test_bench.py runs the benchmark's smoke run, peer included.
# Two processes (TEST_WORKERS): most tests wait on a browser, a server or a
# database, so two share two cores well; each file's tests stay in one process
# (its module fixtures, the live servers, are made once). Every process has its
# own SQLite file and PostgreSQL schema (tests/conftest.py).
TEST_WORKERS ?= 2
test: translations $(VENV)/.bench
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

unit: translations
	$(BIN)/python -m pytest tests

e2e: translations
	$(BIN)/python -m pytest e2e

# The README's screenshots (docs/screenshots), at 390×844, in Lithuanian: an
# ordinary test run writes them to e2e/output only.
screenshots: translations
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest e2e/test_passkeys.py e2e/test_privacy.py e2e/test_console_journey.py

# The benchmark (README, "Benchmark"): gunicorn on the machine's PostgreSQL and
# Redis, driven by wrk (installed from Debian when missing), then the known- vs
# unknown-email answer times (bench/enumeration.py, SECURITY.md). Not a test.
$(VENV)/.bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

bench: translations $(VENV)/.bench
	command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/enumeration.py --database-url postgresql://postgres@127.0.0.1:5432/test

# Where a benchmarked request spends its time: make profile CASE=check
# (check, page, register, login or bare).
CASE ?= check
profile: translations $(VENV)/.bench
	$(BIN)/python bench/profile.py $(CASE) --flat 30

# The package for `pip install 'savitarna[qa]'` without the source tree: the wheel
# carries templates/, static/, translations/ (compiled), data/ and demo/ (setup.py).
wheel: translations
	rm -rf build/lib
	$(BIN)/python -m pip wheel --no-deps --wheel-dir dist .

lint: install
	$(BIN)/ruff check webapp savitarna_qa tests e2e examples
	$(BIN)/ruff format --check webapp savitarna_qa tests e2e examples

clean:
	rm -rf $(VENV) instance .pytest_cache dist
