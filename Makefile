# The two commands that matter: `make run` (the whole system) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The services are those of config/services.json; nothing here names one.
REGISTRY := $(BIN)/python -m services.common.registry
DEV_ENV := SIMPUL_ENV=development
# `make run`'s mail goes to the local catcher (one .eml file per message under var/mail/).
MAIL_PORT ?= 1025
MAIL_ENV := SMTP_HOST=127.0.0.1 SMTP_PORT=$(MAIL_PORT)
# Every web process of `make run` counts the public rate limit in this one Redis, so the
# limit is PUBLIC_RATE_LIMIT whatever the number of gunicorn workers. Without a Redis there
# the limit is not applied (and each process logs so once).
RATE_LIMIT_STORAGE_URI ?= redis://127.0.0.1:6379/0
LIMIT_ENV := RATE_LIMIT_STORAGE_URI=$(RATE_LIMIT_STORAGE_URI)

.PHONY: run test bench token lint up migrate clean broker-logins opd-login opd-revoke compose-check compose-file

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test]'
	touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	@for s in $$($(REGISTRY) names); do echo "migrating $$s"; $(DEV_ENV) $(BIN)/python -m services.$$s migrate || exit 1; done

# var/Procfile is written from the registry: every service's web and worker, and the mail
# catcher. Its commands say `python`: the venv's bin goes first on PATH so that is the venv's.
# `.env` holds docker compose's production settings, so honcho is told not to load it.
run: $(STAMP)
	@$(DEV_ENV) $(BIN)/python -m services.common.preflight
	@$(MAKE) --no-print-directory migrate
	@$(BIN)/python -m services.common.procfile -o var/Procfile
	PATH="$(abspath $(BIN)):$$PATH" $(DEV_ENV) $(MAIL_ENV) $(LIMIT_ENV) $(BIN)/honcho start -f var/Procfile -d . -e /dev/null

# Chromium opens /docs in tests/common/test_docs_page.py (which fails without it).
test: $(STAMP)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& { apt-get install -y -qq chromium >/dev/null 2>&1 \
			|| { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; }; } \
		|| echo "chromium is not installed and could not be: the /docs browser test will fail"
	$(BIN)/pytest $(PYTEST_ARGS)

# `make bench QUICK=1`: the short developer's run (bench/run_all.py).
# wrk (full speed) and hey (a fixed offered rate, for the latency) are the load generators
# the PPID and LAPOR! benchmarks prefer (a Python one would compete with the servers for the
# CPU); they come from the system's packages when make may install them.
bench: $(STAMP)
	@command -v wrk >/dev/null && command -v hey >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get install -y -qq wrk hey >/dev/null 2>&1; } \
		|| echo "wrk or hey is not installed: the PPID benchmark uses its built-in load generator"
	$(BIN)/python bench/run_all.py $(if $(filter-out 0,$(QUICK)),--quick)

# make token ROLE=ppid_pelaksana OPD=dinkes [SUB=u1] [NAME="Siti Rahma"] [NIP=198703122010012003]
# (several roles: ROLE="ppid_utama admin"). Unknown roles, an OPD role without OPD= and an
# unknown OPD are refused. NAME and NIP are printed under the signature of the letters.
quote = '$(subst ','\'',$(1))'
token: $(STAMP)
	@$(DEV_ENV) $(BIN)/python -m services.common.auth token \
		$(foreach role,$(or $(ROLE),ppid_utama),--role $(call quote,$(role))) \
		$(if $(OPD),--opd $(call quote,$(OPD))) --sub $(call quote,$(or $(SUB),dev-user)) \
		$(if $(NAME),--name $(call quote,$(NAME))) $(if $(NIP),--nip $(call quote,$(NIP)))

lint: $(STAMP)
	$(BIN)/ruff check services tests bench

# The broker starts first so that every worker's own login exists before the workers do.
up: $(STAMP)
	docker compose up --build --detach --wait rabbitmq
	$(MAKE) --no-print-directory broker-logins
	docker compose up --build

# The compose deployment tried for real from a clean copy (needs Docker and Compose v2; not
# part of `make test`): up --build, a request's clock in the notifier, broker and worker
# restarts with events in flight, a database backup and restore, down -v. Run it before
# committing a change to Dockerfile, docker-compose.yml or deploy/.
# docker-compose.yml's per-service parts follow config/services.json: run after adding a
# service or a setting (tests/test_compose.py fails while the file is out of date).
compose-file: $(STAMP)
	$(BIN)/python -m services.common.compose_file

compose-check: $(STAMP)
	$(BIN)/python deploy/compose-check/check.py $(COMPOSE_CHECK_ARGS)

# Broker logins, through rabbitmqctl in the compose broker (RABBITMQCTL names another one).
# Each worker's own login, from the <SERVICE>_AMQP_PASSWORD of .env; rerun after changing one.
BROKER_ADMIN = RABBITMQCTL=$(call quote,$(or $(RABBITMQCTL),docker compose exec -T rabbitmq rabbitmqctl)) \
	$(BIN)/python -m services.common.broker_admin
broker-logins: $(STAMP)
	@$(BROKER_ADMIN) setup-services --env-file .env
# An OPD system's login (`make opd-login OPD=dinkes`); its password is printed once.
opd-login: $(STAMP)
	@$(BROKER_ADMIN) create-opd $(call quote,$(OPD))
# `make opd-revoke OPD=dinkes [DELETE_QUEUES=1]`
opd-revoke: $(STAMP)
	@$(BROKER_ADMIN) revoke-opd $(call quote,$(OPD)) $(if $(DELETE_QUEUES),--delete-queues)

clean:
	rm -rf var
