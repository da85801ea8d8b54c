# carewatch — the two commands: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo demo-fast test lint typecheck unit bootstrap bench clean

bootstrap:
	@bash scripts/bootstrap.sh

## The end-to-end demo: simulator -> gateway -> cloud -> SMS and push.
demo: bootstrap
	$(PY) -m demo.run

## The same flow in accelerated simulated time.
demo-fast: bootstrap
	$(PY) -m demo.run --fast

## Everything CI runs: lint, type check, the whole test suite.
test: bootstrap lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: bootstrap
	$(VENV)/bin/mypy

bench: bootstrap
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var artifacts
