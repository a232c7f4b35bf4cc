#!/usr/bin/env bash
# The npm packages for the Solidity toolchain (Hardhat, solc), from package-lock.json: only
# contract work (`make contracts`), the Hardhat tests and the Hardhat node need them.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "setup-node: npm not found; Solidity compilation and Hardhat tests will be skipped" >&2
  exit 0
fi
lockstamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
if [ ! -f "$lockstamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$lockstamp"
fi
