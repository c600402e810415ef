# Cascade's entry points. `make run` and `make test` are all a newcomer needs.

CARGO ?= cargo
NPM ?= npm
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/test
QUICKSTART ?= examples/quickstart/cascade.toml

.PHONY: run build debug-bin frontend frontend-deps test test-deps test-venv test-backend test-frontend test-system lint openapi fmt bench symbol-order soak clean

# Debian packages the tests use: chromium for the browser tests, git for the repositories the
# tests make, psql to find the local PostgreSQL, ngircd and aiosmtpd as the IRC and mail servers
# the reporters talk to, openssl for their test certificates, python3-venv for the virtual
# environment of the feed reader that reads the feeds.
TEST_DEBS ?= chromium git postgresql-client ngircd python3-aiosmtpd openssl python3-venv
# Python packages from PyPI the system tests use (feedparser reads the RSS and Atom feeds,
# schemathesis sends generated requests to every operation of the OpenAPI document), in a
# virtual environment under the build folder.
TEST_VENV ?= target/test-venv
TEST_PIPS ?= feedparser==6.0.14 schemathesis==4.32.5

## Build everything and start a master on the quickstart configuration (SQLite, embedded worker).
run: build
	./target/release/cascade start --config $(QUICKSTART)

## The release binary with the SPA embedded, at target/release/cascade.
build: frontend
	$(CARGO) build --release --locked

frontend-deps:
	@if [ ! -d frontend/node_modules ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then \
		cd frontend && $(NPM) ci --no-audit --no-fund; fi

## The SPA, built again only when one of its sources changed: the release binary embeds it,
## so a fresh build would make `make run` compile the backend again each time.
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) \
	$(wildcard frontend/index.html frontend/package.json frontend/package-lock.json frontend/tsconfig.json frontend/vite.config.ts)

frontend: frontend/dist/index.html

frontend/dist/index.html: $(FRONTEND_SOURCES) | frontend-deps
	cd frontend && $(NPM) run build

## Every test: frontend lint and unit tests, backend on SQLite and PostgreSQL, system and browser tests.
test: test-deps test-frontend test-backend test-system

## Installs the Debian packages the tests need (as root), or says the command that would.
test-deps:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
		else \
			echo "Missing Debian packages:$$missing. Install them with: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

## The system tests' Python virtual environment (made again when TEST_PIPS changes; `make clean` removes it).
test-venv: test-deps
	@if [ "$$(cat $(TEST_VENV)/.pips 2>/dev/null)" != "$(TEST_PIPS)" ]; then \
		echo "Making $(TEST_VENV) with $(TEST_PIPS)"; \
		/usr/bin/python3 -m venv $(TEST_VENV) && $(TEST_VENV)/bin/pip install --quiet $(TEST_PIPS) \
			&& echo "$(TEST_PIPS)" > $(TEST_VENV)/.pips; \
	fi

test-frontend: frontend-deps
	cd frontend && $(NPM) run lint && $(NPM) test && $(NPM) run build

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

test-backend: lint
	@if command -v cargo-nextest >/dev/null 2>&1; then run="$(CARGO) nextest run --locked --no-fail-fast"; \
	else run="$(CARGO) test --locked --no-fail-fast"; fi; \
	echo "== backend tests on SQLite"; $$run || exit 1; \
	if psql "$(PG_ADMIN_URL)" -Atc 'select 1' >/dev/null 2>&1; then \
		echo "== backend tests on PostgreSQL ($(PG_ADMIN_URL))"; \
		CASCADE_TEST_DATABASE_URL="$(PG_ADMIN_URL)" $$run || exit 1; \
	else \
		echo "== PostgreSQL does not answer at $(PG_ADMIN_URL): backend tests ran on SQLite only."; \
		echo "   Start it (pg_ctlcluster 15 main start) or set PG_ADMIN_URL to run them on PostgreSQL too."; \
	fi

## The debug binary the system tests and the soak run, built as the backend tests build it
## (with the dev-dependencies' features), so that after `test-backend` nothing compiles again.
debug-bin:
	$(CARGO) test --locked --no-run --quiet

## System and browser tests against the real binary (debug build, SPA read from frontend/dist).
test-system: frontend test-venv debug-bin
	@test -x /usr/bin/chromium || { echo "Debian's chromium is missing: apt-get install -y chromium (or run .ci/run)"; exit 1; }
	CASCADE_BIN=$(CURDIR)/target/debug/cascade node --test --test-concurrency=1 tests/system/ tests/browser/

## Regenerate openapi/openapi.json from the code and the SPA's types from it.
openapi:
	$(CARGO) run --quiet --locked -- openapi > openapi/openapi.json
	cd frontend && $(NPM) run gen:api

fmt:
	$(CARGO) fmt --all
	cd frontend && $(NPM) run format

## Benchmarks (never part of `make test`): prints a table and writes bench/results.json.
bench: build
	scripts/bench.sh

## Lays out the release binary's code in the order a master runs it (backend/symbol-order.txt):
## profiles a master under valgrind, then builds again with the new list.
symbol-order: build
	scripts/symbol_order.py
	$(CARGO) build --release --locked

## Long runs that look for what short tests miss (never part of `make test`): every scenario of
## scripts/soak/scenarios/, or SCENARIOS="name ..." only.
soak: frontend test-venv debug-bin
	scripts/soak/run.sh $(SCENARIOS)

clean:
	$(CARGO) clean
	rm -rf frontend/dist
