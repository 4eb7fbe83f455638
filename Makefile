# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The tests run on the machine's PostgreSQL when it answers (CI has it), else on SQLite; the
# PostgreSQL-only tests then fail in CI and skip on a laptop, naming what is missing.
PG_URL ?= postgres://postgres@127.0.0.1:5432/ticket_portal
TEST_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo $(PG_URL) || echo sqlite:///var/test.sqlite3)
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test install system-deps bench-deps env messages messages-update lint format bench clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) system-deps messages node_modules/.installed

# axe-core, which the browser journeys run in Chromium to check accessibility (npm registry).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# gettext compiles the translations; Chromium (Debian's, not Playwright's download) drives the
# browser tests and screenshots; nginx is the buffering proxy the production tests put in front of
# gunicorn; redis-server is started and stopped by the outage tests; Dovecot (dovecot-imapd) is
# the real IMAP server the inbound-mail tests start (tests/mailserver.py); PgBouncer is the
# transaction-mode pooler the two-web-processes test puts in front of PostgreSQL; npm installs
# axe-core for the browser journeys. Installed with apt when missing and we may.
system-deps:
	@missing=""; \
	command -v msgfmt >/dev/null && command -v envsubst >/dev/null || missing="$$missing gettext"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/sbin/pgbouncer ] || missing="$$missing pgbouncer"; \
	[ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] || missing="$$missing dovecot-imapd"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing$$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Please install:$$missing (e.g. sudo apt-get install$$missing)"; \
	    command -v msgfmt >/dev/null || exit 1; \
	  fi; \
	fi

# Fresh development secrets for docker-compose.yml, which refuses to start without them. Never
# overwrites an existing .env (FORCE=1 does). Production generates its own the same way.
env:
	@if [ -e .env ] && [ -z "$(FORCE)" ]; then \
	  echo ".env exists; not overwriting it (make env FORCE=1 to replace it)"; exit 1; fi
	@$(PYTHON) -c 'import base64, os, secrets; \
	print("# Written by make env on the developer machine: development secrets, never commit."); \
	print("DJANGO_SECRET_KEY=" + secrets.token_urlsafe(50)); \
	print("REMOTE_ACCESS_KEYS=" + base64.urlsafe_b64encode(os.urandom(32)).decode()); \
	print("POSTGRES_PASSWORD=" + secrets.token_urlsafe(24)); \
	print("MINIO_ROOT_USER=portal-" + secrets.token_hex(4)); \
	print("MINIO_ROOT_PASSWORD=" + secrets.token_urlsafe(24)); \
	print("DJANGO_ALLOWED_HOSTS=localhost,127.0.0.1")' > .env
	@chmod 600 .env
	@echo "Wrote .env with fresh secrets; docker compose up reads it."

messages: $(STAMP)
	@$(BIN)/python manage.py compilemessages --ignore=.venv -v 0

# After changing interface text: refresh the catalogues, translate, then `make messages`.
messages-update: $(STAMP)
	$(BIN)/python manage.py makemessages -l it -l fr --no-obsolete \
	  --ignore ".venv/*" --ignore "tests/*" --ignore "var/*" --ignore "bench/*"

# Quiet until the demo's log-ins, the last lines before the server's own: e-mails go to var/mail/
# (config/settings/local.py). DEMO_SERVICE_ALWAYS_OPEN=1 make run opens the service at all hours.
run: install
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py seed_demo
	@$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install lint
	@mkdir -p var
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest -n 2 -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# wrk (Debian's package) drives gunicorn over HTTP for bench/side_by_side.py. Installed with apt
# when missing and we may, as system-deps does.
bench-deps:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing wrk with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "Please install: wrk (e.g. sudo apt-get install wrk)"; exit 1; \
	  fi; \
	fi

bench: install bench-deps
	@for script in bench/bench_*.py bench/side_by_side.py; do \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var staticfiles
