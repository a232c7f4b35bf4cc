#!/usr/bin/env bash
# Resolves the development environment (requirements/dev.in and the workspace's `dev` group) into
# requirements/dev.lock: every third-party distribution pinned, with the hashes pip checks at
# install. Run it (`make lock`) after changing a dependency in any pyproject.toml;
# tests/unit/test_packaging.py fails while the lock no longer satisfies them.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.10
# Not scripts/setup.sh: its install checks the environment against the lock being remade.
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
if [ ! -x .venv/bin/uv ] || [ "$(.venv/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  .venv/bin/python -m pip install --quiet "uv==$UV_VERSION"
fi
# Linux x86_64, CPython 3.11: the machines the project develops and runs its CI on.
.venv/bin/uv pip compile requirements/dev.in --group pyproject.toml:dev \
  --generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-emit-package ip-notary --no-emit-package ip-notary-sdk \
  --no-emit-package ip-notary-chain --no-emit-package ip-notary-witness \
  --no-header --quiet -o requirements/dev.lock
sed -i '/^-e /d' requirements/dev.lock
echo "lock: requirements/dev.lock ($(grep -c '^[a-z0-9]' requirements/dev.lock) distributions)"
