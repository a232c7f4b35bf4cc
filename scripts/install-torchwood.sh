#!/usr/bin/env bash
# Install torchwood's litewitness and spicy, the independent C2SP witness and proof checker that the
# interop tests run against our checkpoints, cosignature verifier, witness and proof bundles.
#
# Builds filippo.io/torchwood $TORCHWOOD_VERSION (default v0.6.1: later versions ask for a newer Go
# toolchain than the one here) with `go install` from the Go module proxy into <repo>/.tools/bin
# (override with GOBIN) and prints the binaries' paths on stdout, one a line (progress goes to
# stderr). A binary that already carries the wanted module version (`go version -m`) is reused: the
# one in the target directory, or one in $(go env GOPATH)/bin, which is copied over.
#
# cmd/witnessctl is not built: its dependency sigsum.org/sigsum-go is refused by the proxy. The tests
# register logs in litewitness's SQLite database directly (tests/integration/torchwood.py).
set -euo pipefail

TORCHWOOD_VERSION="${TORCHWOOD_VERSION:-v0.6.1}"
MODULE="filippo.io/torchwood"
TOOLS=(litewitness spicy)
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gobin="${GOBIN:-$repo_root/.tools/bin}"

log() { echo "install-torchwood: $*" >&2; }

has_version() {  # has_version BINARY: was it built from $MODULE at exactly $TORCHWOOD_VERSION?
    [[ -x "$1" ]] && command -v go >/dev/null \
        && go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $2, $3 }' \
            | grep -x "$MODULE $TORCHWOOD_VERSION" >/dev/null
}

mkdir -p "$gobin"
missing=()
for tool in "${TOOLS[@]}"; do
    target="$gobin/$tool"
    if has_version "$target"; then
        log "reusing $target ($TORCHWOOD_VERSION)"
        continue
    fi
    candidate=""
    command -v go >/dev/null && candidate="$(go env GOPATH)/bin/$tool"
    if [[ -n "$candidate" && "$candidate" != "$target" ]] && has_version "$candidate"; then
        log "copying $candidate ($TORCHWOOD_VERSION)"
        cp -f "$candidate" "$target.tmp"
        mv -f "$target.tmp" "$target"
        continue
    fi
    missing+=("$tool")
done

if ((${#missing[@]})); then
    command -v go >/dev/null || { log "the go toolchain is not on PATH"; exit 1; }
    # Build into a scratch GOBIN and move into place, so an interrupted build leaves no broken binary.
    scratch="$(mktemp -d)"
    trap 'rm -rf "$scratch"' EXIT
    for tool in "${missing[@]}"; do
        log "building $MODULE/cmd/$tool@$TORCHWOOD_VERSION"
        GOBIN="$scratch" GOFLAGS="${GOFLAGS:-} -trimpath" go install "$MODULE/cmd/$tool@$TORCHWOOD_VERSION"
    done
    for tool in "${missing[@]}"; do
        has_version "$scratch/$tool" || {
            log "built $tool does not carry $MODULE $TORCHWOOD_VERSION"
            go version -m "$scratch/$tool" >&2
            exit 1
        }
        mv -f "$scratch/$tool" "$gobin/$tool"
    done
fi

for tool in "${TOOLS[@]}"; do
    echo "$gobin/$tool"
done
