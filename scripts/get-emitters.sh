#!/usr/bin/env bash
# Install what the real-emitter tests (tests/emitters/, tests/test_emitters_*.py) run, one
# component at a time, into DEST (default .tools/emitters). Nothing is installed system-wide.
#
#   scripts/get-emitters.sh COMPONENT [DEST]
#
#   python           DEST/python/: a virtualenv with tests/emitters/python-apps/requirements.txt
#                    (every package at an exact version, installed with --no-deps from PyPI)
#   node             DEST/node/node_modules: `npm ci` of tests/emitters/node-apps/package.json
#                    and its package-lock.json (exact versions, no install scripts run)
#   prometheus-otlp  DEST/prometheus-3.5-otlp/bin/prometheus: Prometheus 3.5 WITH its OTLP
#                    receiver. Debian's 3.5 (.tools/prometheus-3.5) is built without it (no
#                    --web.enable-otlp-receiver), so this one is built from the Go module
#                    github.com/prometheus/prometheus at PROMETHEUS_OTLP_MODULE_VERSION (v0.305.1
#                    is Prometheus 3.5.1) with `go build ./cmd/prometheus` in a copy of the
#                    module (its go.mod has a replace directive, which `go install pkg@v`
#                    refuses). The service-discovery plugins are left out (plugins/plugins.go
#                    emptied; only static_configs are used), which halves the build. The web
#                    UI's assets are not built in; the HTTP API is complete.
#
# Idempotent: each component records a stamp (the hash of what defines it); when the stamp
# matches, nothing is done. A changed requirements file or lock file reinstalls.
# Concurrent runs of one component wait for each other (flock).
#
# Exit codes: 0 installed (or already there); 2 usage; 3 the component cannot be had on this
# machine (no python3 venv, no node >= 20.6 / npm, no go, a registry refused or timed out, the
# build failed): the last line on stderr is `get-emitters: unavailable: <why>`, also written to
# DEST/<component>.UNAVAILABLE; the tests that need the component skip with that reason.
# Timeouts (seconds): EMITTERS_INSTALL_TIMEOUT (pip, npm; default 900), PROMETHEUS_BUILD_TIMEOUT
# (go; default 2400).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
PROMETHEUS_OTLP_MODULE_VERSION="${PROMETHEUS_OTLP_MODULE_VERSION:-v0.305.1}"
PROMETHEUS_OTLP_VERSION="${PROMETHEUS_OTLP_VERSION:-3.5.1}"  # what v0.305.1 is
PYTHON="${PYTHON:-python3}"
GO="${GO:-go}"
INSTALL_TIMEOUT="${EMITTERS_INSTALL_TIMEOUT:-900}"
BUILD_TIMEOUT="${PROMETHEUS_BUILD_TIMEOUT:-2400}"

log() { printf 'get-emitters: %s\n' "$*" >&2; }
usage() { log "usage: $0 python|node|prometheus-otlp [DEST]"; exit 2; }

[[ $# -ge 1 && $# -le 2 ]] || usage
COMPONENT="$1"
case "$COMPONENT" in python|node|prometheus-otlp) ;; *) usage ;; esac
mkdir -p "${2:-$ROOT/.tools/emitters}"
DEST="$(cd "${2:-$ROOT/.tools/emitters}" && pwd -P)"

unavailable() {
    printf '%s\n' "$*" > "$DEST/$COMPONENT.UNAVAILABLE"
    log "unavailable: $*"
    exit 3
}

exec 9> "$DEST/.$COMPONENT.lock"
flock 9

WORK="$(mktemp -d "${TMPDIR:-/tmp}/get-emitters.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
up_to_date() { [[ -f "$1/STAMP" && "$(cat "$1/STAMP")" == "$2" ]]; }
done_() { rm -f "$DEST/$COMPONENT.UNAVAILABLE"; log "$COMPONENT: $*"; }

install_python() {
    local req="$ROOT/tests/emitters/python-apps/requirements.txt" dir="$DEST/python" stamp
    command -v "$PYTHON" >/dev/null || unavailable "no $PYTHON for the Python emitter apps"
    stamp="$(stamp_of "$req" <(printf '%s' "$("$PYTHON" -c 'import sys; print(sys.version)')"))"
    if up_to_date "$dir" "$stamp" && [[ -x "$dir/bin/python" ]]; then
        done_ "up to date in $dir"; return
    fi
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir" >"$WORK/venv.log" 2>&1 \
        || unavailable "$PYTHON -m venv failed: $(tail -n1 "$WORK/venv.log")"
    local start=$SECONDS
    if ! timeout "$INSTALL_TIMEOUT" "$dir/bin/python" -m pip install --quiet --no-deps \
            --disable-pip-version-check --no-input -r "$req" >"$WORK/pip.log" 2>&1; then
        rm -rf "$dir"
        unavailable "pip install -r $req failed or timed out: $(grep -m1 -E 'ERROR|error' \
            "$WORK/pip.log" || tail -n1 "$WORK/pip.log")"
    fi
    printf '%s\n' "$stamp" > "$dir/STAMP"
    done_ "installed in $dir in $((SECONDS - start)) s"
}

install_node() {
    local src="$ROOT/tests/emitters/node-apps" dir="$DEST/node" stamp v
    command -v node >/dev/null || unavailable "no node for the Node emitter apps"
    command -v npm >/dev/null || unavailable "no npm for the Node emitter apps"
    v="$(node --version)"
    # the OpenTelemetry JS 2.x line needs ^18.19.0 || >=20.6.0
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);
             process.exit(a>20||(a===20&&b>=6)?0:1)' \
        || unavailable "node $v is older than 20.6 (@opentelemetry/sdk-metrics 2.x needs it)"
    stamp="$(stamp_of "$src/package.json" "$src/package-lock.json" <(printf '%s' "$v"))"
    if up_to_date "$dir" "$stamp" && [[ -d "$dir/node_modules" ]]; then
        done_ "up to date in $dir"; return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$src/package.json" "$src/package-lock.json" "$dir/"
    local start=$SECONDS
    if ! (cd "$dir" && timeout "$INSTALL_TIMEOUT" npm ci --ignore-scripts --no-audit --no-fund \
            --loglevel=error >"$WORK/npm.log" 2>&1); then
        rm -rf "$dir"
        unavailable "npm ci in $src failed or timed out: $(grep -m1 -i 'err' "$WORK/npm.log" \
            || tail -n1 "$WORK/npm.log")"
    fi
    printf '%s\n' "$stamp" > "$dir/STAMP"
    done_ "installed in $dir in $((SECONDS - start)) s"
}

install_prometheus_otlp() {
    local dir="$DEST/prometheus-3.5-otlp" module="github.com/prometheus/prometheus" stamp src
    stamp="$module@$PROMETHEUS_OTLP_MODULE_VERSION no-sd $PROMETHEUS_OTLP_VERSION"
    if up_to_date "$dir" "$stamp" && [[ -x "$dir/bin/prometheus" ]]; then
        done_ "up to date in $dir"; return
    fi
    command -v "$GO" >/dev/null || unavailable "no go command to build Prometheus with OTLP"
    local start=$SECONDS
    src="$(timeout 600 "$GO" mod download -json "$module@$PROMETHEUS_OTLP_MODULE_VERSION" \
        2>"$WORK/download.log" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')" || src=""
    [[ -n "$src" && -d "$src" ]] || unavailable "go mod download $module@$PROMETHEUS_OTLP_MODULE_VERSION failed: $(tail -n1 "$WORK/download.log")"
    cp -r "$src" "$WORK/src"
    chmod -R u+w "$WORK/src"
    printf '%s\n%s\n' "// Service discovery plugins left out of this test build (static_configs only)." \
        "package plugins" > "$WORK/src/plugins/plugins.go"
    local ldflags="-X github.com/prometheus/common/version.Version=$PROMETHEUS_OTLP_VERSION"
    ldflags+=" -X github.com/prometheus/common/version.Revision=$PROMETHEUS_OTLP_MODULE_VERSION"
    ldflags+=" -X github.com/prometheus/common/version.Branch=go-module-no-sd"
    mkdir -p "$WORK/bin"
    if ! (cd "$WORK/src" && timeout "$BUILD_TIMEOUT" "$GO" build -trimpath -ldflags "$ldflags" \
            -o "$WORK/bin/prometheus" ./cmd/prometheus >"$WORK/build.log" 2>&1); then
        unavailable "go build of $module@$PROMETHEUS_OTLP_MODULE_VERSION ./cmd/prometheus failed or timed out after $((SECONDS - start)) s: $(grep -v '^go: downloading' "$WORK/build.log" | tail -n1)"
    fi
    "$WORK/bin/prometheus" --help 2>&1 | grep -q -- '--\[no-\]web.enable-otlp-receiver' \
        || unavailable "the built prometheus has no --web.enable-otlp-receiver"
    rm -rf "$dir"
    mkdir -p "$dir/bin"
    mv "$WORK/bin/prometheus" "$dir/bin/prometheus"
    printf '%s\n' "$stamp" > "$dir/STAMP"
    done_ "built $("$dir/bin/prometheus" --version 2>&1 | head -n1) in $dir in $((SECONDS - start)) s"
}

case "$COMPONENT" in
    python) install_python ;;
    node) install_node ;;
    prometheus-otlp) install_prometheus_otlp ;;
esac
