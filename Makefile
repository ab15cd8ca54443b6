# The README's two commands: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi

.PHONY: run run-pg test install

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

## run: the product on the embedded SQLite database (console, API, scheduler, SMS sender, fake gateway, outbound worker and local receiver)
run: $(INSTALLED)
	$(FLASK) db upgrade
	$(FLASK) bootstrap
	$(FLASK) serve

## run-pg: the multi-process deployment on the machine's PostgreSQL (deploy/Procfile: 2 web, 2 schedulers,
## 2 senders, the local gateway); DATABASE_URL overrides postgresql+psycopg://postgres@127.0.0.1:5432/noc_run_pg
run-pg: $(INSTALLED)
	$(BIN)/python deploy/run_pg.py

## test: the whole suite, every database test on SQLite and on PostgreSQL
test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
