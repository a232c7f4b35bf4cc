# The two commands (see README): `make run` and `make test`.
.PHONY: setup run test test-fast components bench bench-quick contracts lint

setup:
	@./scripts/setup.sh

## Run the service on embedded defaults (SQLite, embedded IPFS-compatible store, embedded EVM).
run: setup
	.venv/bin/notary serve

## Run the whole test suite (real components are used when installed; see `make components`).
test: setup
	.venv/bin/python -m pytest

## Quick feedback: skip tests marked slow.
test-fast: setup
	.venv/bin/python -m pytest -m "not slow"

## Install geth, Kubo and PostgreSQL for the integration suites (as CI does).
components:
	./scripts/install-components.sh

## Recompile the contracts and refresh the committed ABI/bytecode in chain/artifacts.
contracts: setup
	npm run export-artifacts

bench: setup
	.venv/bin/python -m bench.run

bench-quick: setup
	.venv/bin/python -m bench.run --quick

## Ruff and mypy over the packages, the tests and the benchmarks (rules in pyproject.toml); CI runs it.
lint: setup
	.venv/bin/ruff check notary chain client_sdk tests bench
	.venv/bin/mypy ipnotary tests bench
