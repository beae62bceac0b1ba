# make run  - set up .venv and start the dashboard at http://127.0.0.1:5000
# make test - set up .venv with the test needs (Debian chromium, redis-server) and run every test
# make serve / make worker - production serving (gunicorn) and RQ workers, docs/scale-out.md
# make bench - every benchmark, one summary table (BENCH_ARGS="--quick" or "--only NAME ..."), docs/performance.md
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run serve worker test setup test-setup system-test-deps bench clean

run: setup
	$(PY) run.py

# Production: gunicorn, one process with threads (gunicorn.conf.py); docs/scale-out.md.
serve: setup
	$(VENV)/bin/gunicorn --config gunicorn.conf.py wsgi:app

# An RQ worker (runner: rq and redis_url in config.yaml, or PIPELINE_RUNNER/PIPELINE_REDIS_URL).
worker: setup
	$(PY) run.py worker

setup: $(VENV)/.runtime-installed

test-setup: $(VENV)/.test-installed system-test-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.runtime-installed
	$(PIP) install -r requirements-test.txt
	touch $@

# Browser tests drive Debian's chromium and the scale-out tests start Debian's redis-server;
# install them when missing (needs root, as on CI).
system-test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for the tests:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

test: test-setup
	$(PY) -m pytest -q; status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$status

bench: test-setup
	$(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
