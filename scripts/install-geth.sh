#!/usr/bin/env bash
# Install the geth binary the chain integration tests run (`geth --dev`).
#
# Builds go-ethereum $GETH_VERSION (default v1.17.10) with `go install` from the Go module proxy
# into <repo>/.tools/bin (override with GOBIN) and prints the binary's path on stdout (progress goes
# to stderr). A binary that already reports the wanted version is reused: the one in the target
# directory, or one in $(go env GOPATH)/bin or on PATH, which is copied over, so re-running (or
# running after a plain `go install`) takes no build.
set -euo pipefail

GETH_VERSION="${GETH_VERSION:-v1.17.10}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gobin="${GOBIN:-$repo_root/.tools/bin}"
target="$gobin/geth"

log() { echo "install-geth: $*" >&2; }

has_version() {  # has_version BINARY: does it report exactly $GETH_VERSION (stable)?
    # Not `grep -q`: it exits at the first match, geth dies of SIGPIPE writing the lines after it
    # and pipefail turns that into "not this version" (it failed CI on a freshly built binary).
    [[ -x "$1" ]] && "$1" version 2>/dev/null | grep -x "Version: ${GETH_VERSION#v}-stable" >/dev/null
}

if has_version "$target"; then
    log "reusing $target ($GETH_VERSION)"
    echo "$target"
    exit 0
fi

mkdir -p "$gobin"
candidates=()
command -v go >/dev/null && candidates+=("$(go env GOPATH)/bin/geth")
command -v geth >/dev/null && candidates+=("$(command -v geth)")
for candidate in "${candidates[@]}"; do
    if [[ "$candidate" != "$target" ]] && has_version "$candidate"; then
        log "copying $candidate ($GETH_VERSION)"
        cp -f "$candidate" "$target.tmp"
        mv -f "$target.tmp" "$target"
        echo "$target"
        exit 0
    fi
done

command -v go >/dev/null || { log "the go toolchain is not on PATH"; exit 1; }
log "building github.com/ethereum/go-ethereum/cmd/geth@$GETH_VERSION (several minutes on a small machine)"
# Build into a scratch GOBIN and move into place, so an interrupted build leaves no broken binary.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
GOBIN="$scratch" GOFLAGS="${GOFLAGS:-} -trimpath" go install "github.com/ethereum/go-ethereum/cmd/geth@$GETH_VERSION"
mv -f "$scratch/geth" "$target"

has_version "$target" || { log "built binary does not report $GETH_VERSION"; "$target" version >&2; exit 1; }
"$target" version | sed -n 1,2p >&2
echo "$target"
