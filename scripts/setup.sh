#!/usr/bin/env bash
# Sets up a development checkout: a Python virtualenv with the project installed, and (when Node
# is present) the npm packages for the Solidity toolchain. Re-running it is cheap: each step is
# skipped when its inputs have not changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml packaging/sdk/pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  # Both distributions from this checkout, editable: the SDK (packaging/sdk) and the service on it.
  .venv/bin/python -m pip install --quiet -e './packaging/sdk[chain]' -e '.[dev]'
  rm -f .venv/.installed-* && touch "$stamp"
fi

if command -v npm >/dev/null 2>&1; then
  lockstamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
  if [ ! -f "$lockstamp" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    touch "$lockstamp"
  fi
else
  echo "setup: npm not found; Solidity compilation and Hardhat tests will be skipped" >&2
fi
