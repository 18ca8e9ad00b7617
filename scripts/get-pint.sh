#!/usr/bin/env bash
# Put pint (github.com/cloudflare/pint, the Prometheus rule linter) into DEST/bin, built from
# source with `go install` at a pinned version. Nothing is installed system-wide.
#
#   scripts/get-pint.sh DEST        # e.g. .tools  ->  .tools/bin/pint, .tools/pint.version
#
# Where the binary comes from, first match wins:
#   1. PINT=/path/to/pint outside DEST, if it is PINT_VERSION: copied.
#   2. `go install github.com/cloudflare/pint/cmd/pint@vPINT_VERSION` with GOBIN=DEST/bin. The
#      module comes from the Go module proxy (GOPROXY as configured) and is checked against the
#      Go checksum database, as every `go install pkg@version` is. Go's own caches are used
#      (`go env GOMODCACHE GOCACHE`, under $HOME by default), so a rebuild after `make clean`
#      only links; GOFLAGS=-modcacherw keeps a module cache you point into DEST deletable.
# PINT_VERSION (default below, without the v) picks the release; GO names the go command.
# PINT_BUILD_TIMEOUT (seconds, default 1800) bounds the build.
#
# Idempotent: if DEST/bin/pint is already PINT_VERSION, nothing is built. DEST/pint.version
# records what was installed (module version and `pint version`).
#
# Exit codes: 0 installed (or already there); 2 usage; 3 pint cannot be had on this machine:
# no go command, the module proxy refused or could not be reached, the build failed or timed
# out. Then the last line on stderr is `get-pint: unavailable: <why>`; `make bootstrap` goes on
# without pint and tests/test_pint.py skips with that reason.
set -euo pipefail

PINT_VERSION="${PINT_VERSION:-0.73.7}"
PINT_VERSION="${PINT_VERSION#v}"
PINT_MODULE="github.com/cloudflare/pint"
PINT_PACKAGE="$PINT_MODULE/cmd/pint"
GO="${GO:-go}"
TIMEOUT="${PINT_BUILD_TIMEOUT:-1800}"

log() { printf 'get-pint: %s\n' "$*" >&2; }
usage() { log "usage: $0 DEST   (pint goes to DEST/bin/)"; exit 2; }
unavailable() { log "unavailable: $*"; exit 3; }

[[ $# -eq 1 && -n "$1" ]] || usage
[[ "$PINT_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || { log "PINT_VERSION must look like 0.73.7, not '$PINT_VERSION'"; exit 2; }
mkdir -p "$1/bin"
DEST="$(cd "$1" && pwd -P)"
BIN="$DEST/bin"
WANT="v$PINT_VERSION"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/get-pint.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

have_go() { command -v "$GO" >/dev/null 2>&1; }

# version_of PINT_BINARY: the pint module version the binary was built from (vX.Y.Z), read from
# its build info with `go version -m`; without go, from `pint version`. Empty if unknown.
version_of() {
    local v=""
    if have_go; then
        v="$("$GO" version -m "$1" 2>/dev/null \
            | awk -v m="$PINT_MODULE" '$1 == "mod" && $2 == m { print $3; exit }')" || v=""
    fi
    if [[ -z "$v" ]]; then
        v="$("$1" version 2>/dev/null | grep -oE 'v?[0-9]+\.[0-9]+\.[0-9]+' | head -n1)" || v=""
        [[ -z "$v" || "$v" == v* ]] || v="v$v"
    fi
    printf '%s' "$v"
}

# works PINT_BINARY: it runs and is the pinned version.
works() {
    [[ -f "$1" && -x "$1" ]] && "$1" version >/dev/null 2>&1 && [[ "$(version_of "$1")" == "$WANT" ]]
}

record() {
    local out
    out="$("$BIN/pint" version 2>&1 | head -n1)" || true
    printf '%s %s\npint version: %s\n' "$PINT_MODULE" "$WANT" "$out" >"$DEST/pint.version"
    log "installed $BIN/pint: $PINT_MODULE $WANT (pint version: $out)"
}

from_pint_env() {
    log "reusing PINT=$PINT"
    cp "$PINT" "$BIN/.pint.tmp"
    chmod 0755 "$BIN/.pint.tmp"
    mv -f "$BIN/.pint.tmp" "$BIN/pint"
}

from_go_install() {
    have_go || unavailable "no go command ('$GO' not found), so pint $WANT cannot be built; \
install Go 1.24 or newer, or set PINT=/path/to/pint ($WANT)"
    log "$("$GO" version 2>&1 | head -n1)"
    log "go install $PINT_PACKAGE@$WANT (GOBIN=$BIN)"
    local runner=()
    command -v timeout >/dev/null 2>&1 && runner=(timeout "$TIMEOUT")
    local rc=0
    # -X main.version: pint's `version` command prints it (unset, a go-installed pint says
    # "unknown"); the module version is also in the binary's build info either way.
    GOBIN="$BIN" GOFLAGS=-modcacherw "${runner[@]}" "$GO" install \
        -ldflags "-X main.version=$WANT" "$PINT_PACKAGE@$WANT" 2>"$WORK/go.err" || rc=$?
    if [[ $rc -ne 0 ]]; then
        cat "$WORK/go.err" >&2
        local why
        why="$(grep -v '^[[:space:]]*$' "$WORK/go.err" | head -n 4 | tr '\t\n' '  ' \
            | sed -e 's/  */ /g' -e 's/ $//' | cut -c1-500)"
        [[ $rc -eq 124 ]] && why="timed out after ${TIMEOUT}s${why:+: $why}"
        unavailable "go install $PINT_PACKAGE@$WANT failed (exit $rc): ${why:-no message}"
    fi
    [[ -x "$BIN/pint" ]] || unavailable "go install succeeded but left no $BIN/pint"
}

# Only one build at a time into DEST (make bootstrap and the test suite may both ask).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$DEST/.get-pint.lock"
    flock 9
fi

if works "$BIN/pint"; then
    log "already present: $BIN/pint is $WANT, nothing built"
    touch "$BIN/pint"  # so make sees the target as newer than this script
elif [[ -n "${PINT:-}" && "$(cd "$(dirname "$PINT")" 2>/dev/null && pwd -P)" != "$BIN" ]] \
        && works "$PINT"; then
    from_pint_env
else
    if [[ -n "${PINT:-}" ]]; then
        log "PINT=$PINT is not a working pint $WANT (it is '$(version_of "$PINT" 2>/dev/null)'); building instead"
    fi
    from_go_install
fi

works "$BIN/pint" \
    || { log "error: $BIN/pint does not run as pint $WANT (build info: '$(version_of "$BIN/pint")')"; exit 1; }
record
