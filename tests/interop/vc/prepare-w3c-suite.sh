#!/usr/bin/env bash
# Prepares the W3C test suite for the EdDSA cryptosuites (w3c/vc-di-eddsa-test-suite) in DEST, for
# tests/integration/test_vc_w3c_suite.py to run against our VC-API endpoints.
#
#   tests/interop/vc/prepare-w3c-suite.sh [DEST]        # default: cache/vc-di-eddsa-test-suite
#
# The suite is not on npm, and two of its dependencies are GitHub repositories that npm would
# clone (w3c/vc-test-suite-implementations, w3c-ccg/data-integrity-test-suite-assertion): this
# clones the three at the commits pinned below, packs the two dependencies and installs the suite
# against the packs (everything else comes from the npm registry). VC_SUITE_GIT_URL is where the
# repositories are, with {owner} and {name} in it (default https://github.com/{owner}/{name}.git;
# a local mirror works too). Nothing of the suite is copied into this repository.
set -euo pipefail
cd "$(dirname "$0")/../../.."
dest=${1:-cache/vc-di-eddsa-test-suite}
default_url='https://github.com/{owner}/{name}.git'
url=${VC_SUITE_GIT_URL:-$default_url}

# The commits this project last ran the suite at (2025-03 to 2025-10).
SUITE=w3c/vc-di-eddsa-test-suite@a62061b23892deb44dbad67a0315d403fdf09440
IMPLEMENTATIONS=w3c/vc-test-suite-implementations@a15c6cf73e588f93a5b532a02c051ad7b59777ab
ASSERTIONS=w3c-ccg/data-integrity-test-suite-assertion@8d84d182f022f02049135f7d1ad3d5d0181e5560

stamp="$dest/.prepared-${SUITE##*@}"
if [ -f "$stamp" ]; then
  exit 0
fi

checkout() { # owner/name@commit directory
  local repo=${1%@*} commit=${1##*@}
  local source=${url//\{owner\}/${repo%/*}}
  source=${source//\{name\}/${repo#*/}}
  rm -rf "$2"
  git clone --quiet "$source" "$2"
  git -C "$2" checkout --quiet --detach "$commit"
}

mkdir -p "$dest"
checkout "$SUITE" "$dest/suite"
checkout "$IMPLEMENTATIONS" "$dest/implementations"
checkout "$ASSERTIONS" "$dest/assertion"
implementations=$(cd "$dest/implementations" && npm pack --silent | tail -n 1)
assertions=$(cd "$dest/assertion" && npm pack --silent | tail -n 1)
node -e '
  const fs = require("fs");
  const [file, implementations, assertions] = process.argv.slice(1);
  const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
  manifest.dependencies["vc-test-suite-implementations"] = "file:" + implementations;
  manifest.dependencies["data-integrity-test-suite-assertion"] = "file:" + assertions;
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
' "$dest/suite/package.json" \
  "../implementations/$implementations" "../assertion/$assertions"
(cd "$dest/suite" && npm install --omit=dev --no-audit --no-fund --loglevel=error)
touch "$stamp"
