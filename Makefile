# Set-up and everyday commands. `make run` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test install db seed worker benchmark vendor-assets clean

run: install db ## Install everything, migrate and seed SQLite with demo data, serve on http://127.0.0.1:$(PORT)
	$(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: ## Install everything (Chromium too, when root) and run the whole test suite
	./scripts/test.sh

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

db: install ## Apply the migrations, seed the catalogue and the demo data, load carbon intensity
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi gaissa seed --demo
	$(BIN)/flask --app wsgi gaissa import-carbon-intensity

worker: install ## Run an RQ worker for background jobs (needs REDIS_URL)
	$(BIN)/rq worker --url "$$REDIS_URL" gaissa

benchmark: install ## Run the benchmarks and print the table for docs/benchmarks.md
	$(BIN)/python scripts/benchmark.py

vendor-assets: ## Fetch htmx and Pico.css into static/vendor (needs npm)
	./scripts/vendor-assets.sh

clean:
	rm -rf $(VENV) instance .pytest_cache
