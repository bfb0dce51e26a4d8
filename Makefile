# TaskFlow API — every command a developer or CI needs. `make run` and `make test` work on a fresh clone.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# Node 24 comes from the `node` devDependency: its bin directory goes first, whatever the machine has.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export SCARF_ANALYTICS := false

CONTRACT := openapi/taskflow.yaml
GENERATED := generated/api.d.ts
PORT ?= 3000

.PHONY: help install run dev mock generate check-generated lint lint-owasp docs-static typecheck build migrate unit test contract contract-diff bench bench-seed clean
.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed ## Install dependencies (npm ci) when missing or stale

run: build ## The API on http://localhost:$(PORT) over an embedded PostgreSQL in .data/ (dev auth unless an SSO is configured)
	@if [ -z "$${AUTH_JWKS_URL:-}$${SSO_URL:-}" ]; then export AUTH_DEV_MODE=$${AUTH_DEV_MODE:-true}; fi; \
	  PORT=$(PORT) exec node dist/src/server.js

migrate: build ## Apply pending migrations and exit: DATABASE_URL_DIRECT, else DATABASE_URL, else the embedded database of make run
	node dist/src/db/migrate-cli.js

mock: install ## Prism mock of the contract on http://127.0.0.1:4010 (DYNAMIC=1 for generated data)
	prism mock $(CONTRACT) -h 127.0.0.1 -p 4010 $(if $(DYNAMIC),--dynamic,)

generate: install ## Regenerate generated/ from the contract
	openapi-typescript $(CONTRACT) -o $(GENERATED)

check-generated: install ## Fail if generated/ is stale
	@tmp=$$(mktemp --suffix=.d.ts); openapi-typescript $(CONTRACT) -o $$tmp >/dev/null; \
	  if ! diff -q $$tmp $(GENERATED) >/dev/null; then diff -u $(GENERATED) $$tmp | head -40; rm -f $$tmp; \
	  echo "generated/ is stale: run 'make generate' and commit it"; exit 1; fi; rm -f $$tmp; echo "generated/ is up to date"

lint: install ## Lint the contract (redocly; Spectral OWASP, errors only) and the import layers of src/ (dependency-cruiser)
	redocly lint $(CONTRACT) --format=stylish
	spectral lint $(CONTRACT) --ruleset .spectral.yaml --fail-severity error --display-only-failures --quiet
	@echo "spectral (OWASP): no errors"
	depcruise src --config .dependency-cruiser.cjs --output-type err

lint-owasp: install ## Every Spectral OWASP finding, including the advisory warnings and hints of the ruleset
	spectral lint $(CONTRACT) --ruleset .spectral.yaml --fail-severity error

DOCS_STATIC ?= docs-static/index.html
docs-static: install ## A self-contained Redoc page of the contract, docs-static/index.html, for publishing (no CDN)
	REDOCLY_TELEMETRY=off redocly build-docs $(CONTRACT) --inlineBundle --output $(DOCS_STATIC)
	@# --inlineBundle leaves one request to Redocly's CDN (the sidebar logo): an empty inline image instead.
	sed -i 's#https://cdn.redoc.ly/redoc/logo-mini[a-z-]*[.]svg#data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E#g' $(DOCS_STATIC)

typecheck: install ## tsc --noEmit over src, test and generated
	tsc --noEmit -p tsconfig.json

build: install ## Production build into dist/
	rm -rf dist && tsc -p tsconfig.build.json

unit: build ## jest: unit, integration, auth, mock and reliability suites (starts its own PostgreSQL)
	NODE_OPTIONS="--experimental-vm-modules --import ./test/helpers/ts-resolve.mjs" jest

contract: build ## Dredd drives the built server through the whole contract, with schema checks
	node test/contract/run.mjs

contract-diff: install ## Fail on a breaking change against the newest openapi/released/<version>.yaml (redocly diff)
	node test/contract/diff-gate.mjs

test: lint check-generated contract-diff typecheck unit contract ## Everything CI runs
	@echo "make test: all checks passed"

bench: build ## Load test: TaskFlow vs a bare baseline on 100,000 seeded tasks (see test/bench/)
	node test/bench/run.mjs
	node test/bench/streams.mjs

bench-seed: build ## Seed the deterministic benchmark data into DATABASE_URL (after migrations)
	node test/bench/seed.mjs

clean: ## Remove build output and local data
	rm -rf dist .data docs-static
