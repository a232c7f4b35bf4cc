#!/usr/bin/env bash
# Install the Kubo (IPFS) binary used by the integration tests and the `kubo` content backend.
#
# Builds Kubo $KUBO_VERSION (default v0.43.1) from source into <repo>/.tools/bin (override with
# GOBIN) and prints the binary's path on stdout (progress goes to stderr). An existing binary
# that already reports the wanted version is reused, so re-running is cheap.
#
# Why not plain `go install github.com/ipfs/kubo/cmd/ipfs@v0.43.1`: Kubo's go.mod carries a
# `replace` directive (v0.43.1 swaps go-libp2p for a fork that builds against newer quic-go), and
# `go install pkg@version` refuses modules with replace directives. So we fetch the module source
# with `go mod download` and `go build` inside it, where the directive applies as in Kubo's own
# release build.
#
# If the replacement module cannot be fetched (the fork's pseudo-version is not on the Go module
# proxy, and a sandbox may have no direct GitHub access), we drop the replace and pin quic-go and
# webtransport-go to the versions the released go-libp2p requires. That changes only libp2p's
# QUIC transport; the importer (boxo) that computes CIDs is untouched. The fallback is announced
# on stderr.
set -euo pipefail

KUBO_VERSION="${KUBO_VERSION:-v0.43.1}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gobin="${GOBIN:-$repo_root/.tools/bin}"
target="$gobin/ipfs"

log() { echo "install-kubo: $*" >&2; }

if [[ -x "$target" ]] && "$target" version 2>/dev/null | grep -x "ipfs version ${KUBO_VERSION#v}" >/dev/null; then
    log "reusing $target ($KUBO_VERSION)"
    echo "$target"
    exit 0
fi

command -v go >/dev/null || { log "the go toolchain is not on PATH"; exit 1; }
mkdir -p "$gobin"

json_field() {  # json_field FIELD < `go mod download -json` output
    sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p"
}

log "downloading github.com/ipfs/kubo@$KUBO_VERSION"
src_dir="$(go mod download -json "github.com/ipfs/kubo@$KUBO_VERSION" | json_field Dir)"
[[ -d "$src_dir" ]] || { log "go mod download gave no source directory"; exit 1; }

# The module cache is read-only; build in a scratch copy.
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cp -R "$src_dir/." "$work/"
chmod -R u+w "$work"
cd "$work"
export GOFLAGS="${GOFLAGS:-} -mod=mod -buildvcs=false"

libp2p_replace="$(go mod edit -json | sed -n 's/.*"Path": "\(github.com\/lidel\/go-libp2p\)".*/\1/p' | sed -n 1p)"
if [[ -n "$libp2p_replace" ]]; then
    replacement="$(go list -m -f '{{if .Replace}}{{.Replace.Path}}@{{.Replace.Version}}{{end}}' \
        github.com/libp2p/go-libp2p 2>/dev/null || true)"
    if [[ -z "$replacement" ]] || ! go mod download "$replacement" 2>/dev/null; then
        libp2p_version="$(go mod edit -json | tr -d '\n' \
            | grep -o '"Path": "github.com/libp2p/go-libp2p",[[:space:]]*"Version": "v[^"]*"' \
            | sed -n 1p | sed 's/.*"Version": "\(v[^"]*\)"/\1/')"
        log "WARNING: replacement ${replacement:-go-libp2p fork} is not downloadable;"
        log "         building against go-libp2p $libp2p_version with its own quic-go versions"
        gomod="$(go mod download -json "github.com/libp2p/go-libp2p@$libp2p_version" | json_field GoMod)"
        go mod edit -dropreplace github.com/libp2p/go-libp2p
        for dep in github.com/quic-go/quic-go github.com/quic-go/webtransport-go; do
            version="$(awk -v d="$dep" '$1 == d { print $2; exit }' "$gomod")"
            [[ -n "$version" ]] && go mod edit -require "$dep@$version"
        done
    fi
fi

log "building (several minutes on a small machine)"
go build -trimpath -o "$target.tmp" ./cmd/ipfs
mv -f "$target.tmp" "$target"

"$target" version >&2
echo "$target"
