# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
TEST_WORKERS ?= 2
DEPS   := $(VENV)/.deps-installed

.PHONY: run test deps browser bench clean

run: $(DEPS)
	$(PY) -m crm_core prepare
	$(PY) -m streamlit run server.py --server.port $(PORT)

# Core and page tests in parallel processes (each test has its own workspace files), then the browser
# journeys one at a time (each starts its own `streamlit run`; in parallel they would compete for the CPU).
test: $(DEPS) browser
	$(PY) -m pytest --ignore=tests/e2e -n $(TEST_WORKERS)
	$(PY) -m pytest tests/e2e

deps: $(DEPS)

$(DEPS): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

browser:
	@scripts/ensure_chromium.sh

bench: $(DEPS)
	$(PY) bench/customers_page.py --scales S M
	$(PY) bench/import_csv.py --scales S M
	$(PY) bench/segments.py --scales S M

clean:
	rm -rf $(VENV) .pytest_cache artifacts
