#!/usr/bin/env bash
# Build the Go and JVM emitter apps of the real-emitter tests (tests/emitters/go-*/, jvm-*/,
# tests/test_emitters_go_jvm.py) into DEST (default .tools/emitters), at the versions pinned in
# their build files. Nothing is installed system-wide; Go's module and build caches and Maven's
# ~/.m2 are reused, so a rebuild after a change takes seconds.
#
#   scripts/get-emitters-go-jvm.sh [COMPONENT...] [--dest DEST]     (default: all four)
#
#   go-prometheus  DEST/go-prometheus/bin/app-client_golang-<v>: tests/emitters/go-prometheus
#                  built once per pinned client_golang: go.mod (1.25.0) and go-1.14.mod (1.14.0)
#   go-otel        DEST/go-otel/bin/app: tests/emitters/go-otel (contrib runtime
#                  instrumentation, otlpmetrichttp, OTel Prometheus exporter; go.mod)
#   jvm-prometheus DEST/jvm-prometheus/{lib,classes}: client_java 1.x jars copied by
#                  `mvn dependency:copy-dependencies` from tests/emitters/jvm-prometheus/pom.xml,
#                  App.java compiled with javac against them
#   jvm-otel       DEST/jvm-otel/opentelemetry-javaagent-<v>.jar (the versions pinned in
#                  tests/emitters/jvm-otel/pom.xml, `mvn dependency:copy@agents`) and
#                  DEST/jvm-otel/classes (App.java, no dependencies)
#
# Idempotent: each component records a stamp (the hash of its sources, build files and
# toolchain version); when it matches, nothing is done. Concurrent runs wait (flock).
#
# Exit codes: 0 built (or up to date); 2 usage; 3 a component cannot be built here (no go, no
# javac/mvn, the module proxy or Maven Central refused or timed out, the build failed): the
# last line on stderr is `get-emitters-go-jvm: unavailable: <why>`, also written to
# DEST/<component>.UNAVAILABLE, and the tests that need it skip with that reason. The other
# components are still built. BUILD_TIMEOUT (seconds, default 1200) bounds each build step.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
SRC="$ROOT/tests/emitters"
GO="${GO:-go}"
MVN="${MVN:-mvn}"
JAVAC="${JAVAC:-javac}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-1200}"
ALL=(go-prometheus go-otel jvm-prometheus jvm-otel)

log() { printf 'get-emitters-go-jvm: %s\n' "$*" >&2; }
usage() { log "usage: $0 [${ALL[*]}]... [--dest DEST]"; exit 2; }

COMPONENTS=()
DEST="$ROOT/.tools/emitters"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dest) [[ $# -ge 2 ]] || usage; DEST="$2"; shift 2 ;;
        go-prometheus|go-otel|jvm-prometheus|jvm-otel) COMPONENTS+=("$1"); shift ;;
        *) usage ;;
    esac
done
[[ ${#COMPONENTS[@]} -gt 0 ]] || COMPONENTS=("${ALL[@]}")
mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd -P)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/get-emitters-go-jvm.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Go: the toolchain of this machine (go.mod's `go` line is a minimum, never a download), the
# module proxy as configured, go.sum as committed (-mod=readonly: nothing re-resolved).
export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
up_to_date() { [[ -f "$1/STAMP" && "$(cat "$1/STAMP")" == "$2" ]]; }

# Each component runs in a subshell: `unavailable` ends that component only.
unavailable() {
    printf '%s\n' "$*" > "$DEST/$COMPONENT.UNAVAILABLE"
    log "unavailable: $*"
    exit 3
}
finished() { rm -f "$DEST/$COMPONENT.UNAVAILABLE"; log "$COMPONENT: $*"; }
last_error() { grep -v -e '^go: downloading' -e '^\s*$' "$1" | tail -n 2 | tr '\n' ' '; }

# Checked before the stamp is computed: `unavailable` inside a process substitution would end
# only that substitution.
need_go() {
    command -v "$GO" >/dev/null || unavailable "no go command (Go toolchain) to build $COMPONENT"
    "$GO" version >/dev/null 2>&1 || unavailable "'$GO version' failed: no usable Go toolchain"
}

# go_build DIR MODFILE OUT: build the module in DIR with MODFILE (go.mod or another) to OUT.
go_build() {
    local dir="$1" modfile="$2" out="$3"
    local rc=0
    (cd "$dir" && timeout "$BUILD_TIMEOUT" "$GO" build -trimpath -modfile="$modfile" \
        -o "$out" . >"$WORK/go-build.log" 2>&1) || rc=$?
    if [[ $rc -ne 0 ]]; then
        local why
        why="$(last_error "$WORK/go-build.log")"
        [[ $rc -ne 124 ]] || why="timed out after $BUILD_TIMEOUT s"
        unavailable "go build of $dir with $(basename "$modfile") failed (exit $rc): ${why:-no output}"
    fi
}

build_go_prometheus() {
    local src="$SRC/go-prometheus" dir="$DEST/go-prometheus" stamp v mod start=$SECONDS
    need_go
    stamp="$(stamp_of "$src"/*.go "$src"/*.mod "$src"/*.sum <("$GO" version))"
    if up_to_date "$dir" "$stamp"; then finished "up to date in $dir"; return; fi
    rm -rf "$dir"; mkdir -p "$WORK/go-prometheus"
    for mod in "$src"/*.mod; do
        v="$(sed -n 's#^require github.com/prometheus/client_golang v\([^ ]*\)$#\1#p' "$mod")"
        [[ -n "$v" ]] || unavailable "$mod pins no client_golang (one 'require ... vX.Y.Z' line)"
        go_build "$src" "$mod" "$WORK/go-prometheus/app-client_golang-$v"
    done
    mkdir -p "$dir"; mv "$WORK/go-prometheus" "$dir/bin"
    printf '%s\n' "$stamp" > "$dir/STAMP"
    finished "built $(ls "$dir/bin" | tr '\n' ' ')in $((SECONDS - start)) s"
}

build_go_otel() {
    local src="$SRC/go-otel" dir="$DEST/go-otel" stamp start=$SECONDS
    need_go
    stamp="$(stamp_of "$src"/*.go "$src"/go.mod "$src"/go.sum <("$GO" version))"
    if up_to_date "$dir" "$stamp"; then finished "up to date in $dir"; return; fi
    rm -rf "$dir"; mkdir -p "$WORK/go-otel"
    go_build "$src" "$src/go.mod" "$WORK/go-otel/app"
    mkdir -p "$dir"; mv "$WORK/go-otel" "$dir/bin"
    printf '%s\n' "$stamp" > "$dir/STAMP"
    finished "built $dir/bin/app in $((SECONDS - start)) s"
}

need_java() {
    command -v "$JAVAC" >/dev/null || unavailable "no javac (a JDK) to build $COMPONENT"
    command -v "$MVN" >/dev/null || unavailable "no mvn (Maven) to fetch the jars of $COMPONENT"
    "$JAVAC" -version >/dev/null 2>&1 || unavailable "'$JAVAC -version' failed: no usable JDK"
}

# mvn_run DIR ARGS...: Maven in DIR, quiet, batch mode, bounded.
mvn_run() {
    local dir="$1"; shift
    local rc=0
    (cd "$dir" && timeout "$BUILD_TIMEOUT" "$MVN" -q -B "$@" >"$WORK/mvn.log" 2>&1) || rc=$?
    if [[ $rc -ne 0 ]]; then
        local why
        why="$(grep -m1 -E '\[ERROR\]' "$WORK/mvn.log" || tail -n1 "$WORK/mvn.log")"
        [[ $rc -ne 124 ]] || why="timed out after $BUILD_TIMEOUT s"
        unavailable "mvn $* in $dir failed (exit $rc): ${why:-no output}"
    fi
}

javac_app() {
    local src="$1" out="$2" cp="${3:-}"
    if ! timeout "$BUILD_TIMEOUT" "$JAVAC" --release 17 -d "$out" ${cp:+-cp "$cp"} "$src/App.java" \
            >"$WORK/javac.log" 2>&1; then
        unavailable "javac $src/App.java failed: $(tail -n 3 "$WORK/javac.log" | tr '\n' ' ')"
    fi
}

build_jvm_prometheus() {
    local src="$SRC/jvm-prometheus" dir="$DEST/jvm-prometheus" stamp start=$SECONDS
    need_java
    stamp="$(stamp_of "$src/App.java" "$src/pom.xml" <("$JAVAC" -version 2>&1))"
    if up_to_date "$dir" "$stamp"; then finished "up to date in $dir"; return; fi
    rm -rf "$dir"; mkdir -p "$WORK/jvm-prometheus"
    mvn_run "$src" dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$WORK/jvm-prometheus/lib"
    javac_app "$src" "$WORK/jvm-prometheus/classes" "$WORK/jvm-prometheus/lib/*"
    mv "$WORK/jvm-prometheus" "$dir"
    printf '%s\n' "$stamp" > "$dir/STAMP"
    finished "built $dir ($(ls "$dir/lib" | wc -l) jars) in $((SECONDS - start)) s"
}

build_jvm_otel() {
    local src="$SRC/jvm-otel" dir="$DEST/jvm-otel" stamp start=$SECONDS
    need_java
    stamp="$(stamp_of "$src/App.java" "$src/pom.xml" <("$JAVAC" -version 2>&1))"
    if up_to_date "$dir" "$stamp"; then finished "up to date in $dir"; return; fi
    rm -rf "$dir"; mkdir -p "$WORK/jvm-otel"
    mvn_run "$src" dependency:copy@agents -Dagents.dir="$WORK/jvm-otel"
    javac_app "$src" "$WORK/jvm-otel/classes"
    mv "$WORK/jvm-otel" "$dir"
    printf '%s\n' "$stamp" > "$dir/STAMP"
    finished "built $dir ($(cd "$dir" && echo *.jar)) in $((SECONDS - start)) s"
}

exec 9> "$DEST/.go-jvm.lock"
flock 9

status=0
for COMPONENT in "${COMPONENTS[@]}"; do
    # not `( ... ) || ...`: that would switch set -e off inside the subshell
    set +e
    ( "build_${COMPONENT//-/_}" )
    rc=$?
    set -e
    [[ $rc -eq 0 || $rc -eq 3 ]] || exit "$rc"
    [[ $rc -eq 0 ]] || status=3
done
exit "$status"
