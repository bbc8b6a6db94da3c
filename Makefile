# make demo  — set up .venv and run the demo on http://127.0.0.1:8000 until Ctrl-C (docs/demo.md)
# make test  — set up .venv, install Chromium if missing, run lint, type checks and all tests
# make bench — the scan benchmark (see bench/README.md)

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The distribution was renamed driftwatch → driftwatch-aws: drop an old editable install.
	$(PY) -m pip uninstall -q -y driftwatch 2>/dev/null || true
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/driftwatch demo

lint: $(STAMP)
	$(VENV)/bin/ruff check driftwatch tests bench
	$(VENV)/bin/mypy

# The dashboard's browser test drives Debian's Chromium (Playwright cannot download its
# own browser here); install it from the distribution when it is missing (needs root).
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

test: lint chromium
	$(VENV)/bin/pytest -q

bench: $(STAMP)
	$(PY) bench/scan_bench.py

clean:
	rm -rf $(VENV) demo-work .pytest_cache .mypy_cache .ruff_cache
