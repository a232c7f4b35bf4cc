#!/usr/bin/env bash
# Sets up a development checkout: a Python virtualenv with the locked third-party dependencies
# (requirements/dev.lock, hashes checked) and the four distributions of this checkout installed
# editable. Re-running it is cheap: nothing is installed when the lock and the pyproject files
# have not changed. Node is not needed here (scripts/setup-node.sh: contract work and Hardhat).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
DISTRIBUTIONS=(chain client_sdk witness notary)
inputs=$(cat requirements/dev.lock pyproject.toml "${DISTRIBUTIONS[@]/%//pyproject.toml}" | sha256sum | cut -c1-16)
stamp=.venv/.installed-$inputs
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade 'pip>=25.1'
  .venv/bin/python -m pip install --quiet --require-hashes --no-deps -r requirements/dev.lock
  # The checkout's own distributions, editable, with nothing from an index: their dependencies
  # are all in the lock (tests/unit/test_packaging.py checks it).
  editable=()
  for d in "${DISTRIBUTIONS[@]}"; do editable+=(-e "./$d"); done
  .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation "${editable[@]}"
  .venv/bin/python -m pip check >/dev/null
  rm -f .venv/.installed-* && touch "$stamp"
fi
