#!/usr/bin/env bash
# The npm projects of the checkout, each from its own package-lock.json: the Solidity toolchain at
# the root (Hardhat, solc: contract work, the Hardhat tests and node), and any other folder with a
# lock file (the verification page's bundler, the independent verifiers the tests run). None is
# needed to run the service.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "setup-node: npm not found; Solidity compilation and Hardhat tests will be skipped" >&2
  exit 0
fi
for lock in package-lock.json */package-lock.json tests/interop/*/package-lock.json; do
  [ -f "$lock" ] || continue
  dir=$(dirname "$lock")
  case "$dir" in node_modules* | */node_modules*) continue ;; esac
  stamp=$dir/node_modules/.installed-$(sha256sum "$lock" | cut -c1-16)
  if [ ! -f "$stamp" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$stamp"
  fi
done
