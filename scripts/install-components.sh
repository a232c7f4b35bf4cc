#!/usr/bin/env bash
# Installs the real components the integration suites run against, from the package registries
# only: geth, Kubo and torchwood's litewitness and spicy built with the Go toolchain into
# .tools/bin (pinned versions), PostgreSQL, OpenSSL (the test TSA) and faketime (the backdating
# attack test runs the service under a clock set years back), chromium, fonts and PDF tools from
# Debian's packages, and the npm packages (Hardhat node, the verification page's toolchain). Whatever is already installed at the right version is reused, so a
# second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "install-components: $*" >&2; }

./scripts/setup.sh
./scripts/setup-node.sh

log "geth"
./scripts/install-geth.sh >/dev/null
log "kubo"
./scripts/install-kubo.sh >/dev/null
log "torchwood (litewitness, spicy)"
./scripts/install-torchwood.sh >/dev/null

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || packages+=(postgresql)
command -v openssl >/dev/null || packages+=(openssl)
command -v faketime >/dev/null || packages+=(faketime)
# The docs' examples (tests/integration/test_docs_examples.py) run as a user would type them.
command -v jq >/dev/null || packages+=(jq)
command -v curl >/dev/null || packages+=(curl)
# The browser tests, the verification page and web capture drive Debian's chromium through
# Playwright (never a downloaded browser); PDFs are rendered with Noto CJK and read back as a
# person's tools would (pdftotext, pdfdetach, pdfsig; zbarimg for the QR code).
command -v chromium >/dev/null || packages+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || packages+=(fonts-noto-cjk)
command -v pdfsig >/dev/null || packages+=(poppler-utils)
command -v zbarimg >/dev/null || packages+=(zbar-tools)
if [ "${#packages[@]}" -gt 0 ]; then
  log "${packages[*]} (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${packages[@]}" >/dev/null
  # The packaged cluster is not needed: the tests start their own on a free loopback port.
  $SUDO systemctl disable --now postgresql >/dev/null 2>&1 || $SUDO service postgresql stop >/dev/null 2>&1 || true
fi
log "done: $(ls .tools/bin | tr '\n' ' ')postgres $(ls /usr/lib/postgresql)"
