# The two commands (see README): `make run` and `make test`.
.PHONY: setup run test test-fast components bench bench-quick contracts lint lock

# Every Python source tree of the project: the four distributions, the tests and the benchmarks.
SOURCES := chain/src client_sdk/src witness/src notary/src tests bench

setup:
	@./scripts/setup.sh

## Run the service on embedded defaults (SQLite, embedded IPFS-compatible store, embedded EVM).
run: setup
	.venv/bin/notary serve

## Run the whole test suite (real components are used when installed; see `make components`).
test: setup
	@./scripts/setup-node.sh
	.venv/bin/python -m pytest

## Quick feedback: the unit tier (the service on an in-memory chain, no py-evm chain or node, no
## service or CLI processes); what needs a real chain or a process is in tests/integration.
test-fast: setup
	.venv/bin/python -m pytest tests/unit

## Install geth, Kubo and PostgreSQL for the integration suites (as CI does).
components:
	./scripts/install-components.sh

## Recompile the contracts and refresh the committed ABI/bytecode in chain/src/ipnotary/chain/artifacts.
contracts: setup
	./scripts/setup-node.sh
	npm run export-artifacts

bench: setup
	.venv/bin/python -m bench.run

bench-quick: setup
	.venv/bin/python -m bench.run --quick

## Ruff (lint and format) and mypy over every source tree (rules in pyproject.toml); CI runs it.
lint: setup
	.venv/bin/ruff check $(SOURCES)
	.venv/bin/ruff format --check $(SOURCES)
	.venv/bin/mypy $(SOURCES)

## Re-resolve the development environment's lock file after a change to a pyproject.toml.
lock:
	./scripts/lock.sh
