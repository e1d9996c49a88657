# Pnyx — every target is one line a person can read. `make demo` and `make test` set up what they need.
PY := .venv/bin/python
STAMP := .venv/.installed-$(shell cat pyproject.toml package-lock.json | sha1sum | cut -c1-12)

.PHONY: setup demo test lint format bench

setup: $(STAMP)

$(STAMP): pyproject.toml package-lock.json
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m babel.messages.frontend compile -d platform/pnyx/translations >/dev/null
	rm -f .venv/.installed-* && touch $(STAMP)

demo: setup
	.venv/bin/pnyx demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

bench: setup
	$(PY) tests/benchmarks/run.py $(ONLY)
