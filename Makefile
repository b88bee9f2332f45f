# Two commands do all set-up on a fresh Debian machine:
#   make demo   creates .venv, installs triage, runs it once on the bundled demo mailbox
#   make test   installs what the tests need (Python deps, Debian's dovecot-imapd, postgresql and
#               chromium) and runs them all
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test dovecot postgresql chromium bench clean

$(BIN)/triage: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/triage

demo: install
	$(BIN)/triage demo --dir demo-output

dovecot:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dovecot-imapd; }

# the weekly report is checked as a manager sees it: drawn by a headless Chromium at 600 px
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }


# the tests start their own server from initdb in a temp dir; the package's cluster is not used
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; }


test: install dovecot postgresql chromium
	$(BIN)/python -m pytest -q

bench: install dovecot
	$(BIN)/python bench/backlog.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache

# load benchmarks (issue 6): 10k/50k backlogs, IDLE latency, idle CPU, start-up; several minutes
.PHONY: bench-load
bench-load: install dovecot
	$(BIN)/python bench/backlog.py --sizes 10000,50000 --deliver off
	$(BIN)/python bench/idle_latency.py
	$(BIN)/python bench/idle_cpu.py
	$(BIN)/python bench/startup.py
