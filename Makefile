# Two commands do everything on a new machine:
#   make run   - install, migrate, load demo data, serve the app with a Celery worker and beat
#   make test  - install, lint, check migrations, run the whole test suite on PostgreSQL and Redis
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NODE_STAMP := node_modules/.package-lock.json

.PHONY: run test install lint browser tools

install: $(STAMP) $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev]"
	touch $(STAMP)

run: install
	$(BIN)/python manage.py runembedded

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	# The production settings pass Django's deployment checks with no warning.
	DEPLOYMENT=production ALLOWED_HOSTS=monitor.example.org \
		SECRET_KEY=lint-only-key-for-the-deployment-check-5e0c2a9b7d14f3e8a6 \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# End-to-end tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# Encrypted backups (manage.py backupdb/restoredb) use GnuPG and PostgreSQL's client tools.
tools:
	@command -v gpg >/dev/null || { apt-get update -qq && apt-get install -y -qq gnupg; }
	@command -v pg_dump >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }

test: lint browser tools
	$(BIN)/pytest
