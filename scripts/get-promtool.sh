#!/usr/bin/env bash
# Put promtool and the prometheus server binary into DEST/bin without installing anything
# system-wide.
#
#   scripts/get-promtool.sh DEST        # e.g. .tools  ->  .tools/bin/{promtool,prometheus}
#
# Where the binaries come from, first match wins:
#   1. PROMTOOL=/path/to/promtool outside DEST, with a `prometheus` binary next to it: copied.
#   2. apt-get + dpkg available: `apt-get download prometheus` and `dpkg -x` (Debian's version,
#      2.42.0 on bookworm). `apt-get update` is run only if the download fails and we are root.
#   3. Otherwise the official release tarball, PROMETHEUS_VERSION (default 2.53.4), checked
#      against the release's sha256sums.txt.
# GET_PROMTOOL_METHOD=apt|tarball forces 2 or 3. PROMETHEUS_MIRROR replaces the GitHub
# releases base URL (anything curl/wget can fetch, e.g. an internal mirror).
#
# Idempotent: if DEST/bin already holds a working promtool and prometheus, nothing is fetched.
# Delete DEST (`make clean`) to fetch again.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-2.53.4}"
PROMETHEUS_MIRROR="${PROMETHEUS_MIRROR:-https://github.com/prometheus/prometheus/releases/download}"
METHOD="${GET_PROMTOOL_METHOD:-auto}"

log() { printf 'get-promtool: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 DEST   (binaries go to DEST/bin/)"
mkdir -p "$1/bin"
DEST="$(cd "$1" && pwd -P)"
BIN="$DEST/bin"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/get-promtool.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# install_bin SRC NAME: copy SRC to BIN/NAME atomically (a half-copied binary is never visible).
install_bin() {
    [[ -f "$1" && -x "$1" ]] || die "expected an executable at $1"
    cp "$1" "$BIN/.$2.tmp"
    chmod 0755 "$BIN/.$2.tmp"
    mv -f "$BIN/.$2.tmp" "$BIN/$2"
    log "installed $BIN/$2 (from $1)"
}

already_installed() {
    [[ -x "$BIN/promtool" && -x "$BIN/prometheus" ]] \
        && "$BIN/promtool" --version >/dev/null 2>&1 \
        && "$BIN/prometheus" --version >/dev/null 2>&1
}

# reusable_promtool_env: true when $PROMTOOL lives outside DEST and has a prometheus sibling.
reusable_promtool_env() {
    [[ -n "${PROMTOOL:-}" && -f "$PROMTOOL" && -x "$PROMTOOL" ]] || return 1
    local dir
    dir="$(cd "$(dirname "$PROMTOOL")" && pwd -P)"
    [[ "$dir" != "$BIN" ]] || return 1
    if [[ ! -x "$dir/prometheus" ]]; then
        log "PROMTOOL=$PROMTOOL has no prometheus binary next to it; fetching both instead"
        return 1
    fi
}

from_promtool_env() {
    local dir
    dir="$(cd "$(dirname "$PROMTOOL")" && pwd -P)"
    log "reusing PROMTOOL=$PROMTOOL and $dir/prometheus"
    install_bin "$PROMTOOL" promtool
    install_bin "$dir/prometheus" prometheus
}

from_apt() {
    local apt_opts=()
    [[ $EUID -eq 0 ]] && apt_opts=(-o APT::Sandbox::User=root)  # silences the _apt warning
    mkdir "$WORK/deb"
    log "apt-get download prometheus"
    if ! (cd "$WORK/deb" && apt-get "${apt_opts[@]}" -q download prometheus >&2); then
        [[ $EUID -eq 0 ]] || die "apt-get download prometheus failed and I am not root, so I \
cannot run apt-get update. Run 'sudo apt-get update' and retry, set PROMTOOL=/path/to/promtool \
(with prometheus next to it), or set GET_PROMTOOL_METHOD=tarball."
        log "download failed; running apt-get update and retrying"
        apt-get -q update >&2
        (cd "$WORK/deb" && apt-get "${apt_opts[@]}" -q download prometheus >&2) \
            || die "apt-get download prometheus failed even after apt-get update"
    fi
    local debs=("$WORK"/deb/prometheus_*.deb)
    [[ -f "${debs[0]}" ]] || die "apt-get download produced no prometheus_*.deb"
    log "unpacking $(basename "${debs[0]}") (dpkg -x, nothing is installed)"
    dpkg -x "${debs[0]}" "$WORK/root"
    install_bin "$WORK/root/usr/bin/promtool" promtool
    install_bin "$WORK/root/usr/bin/prometheus" prometheus
}

# fetch URL OUT: download with curl or wget, failing on HTTP errors.
fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --retry 3 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
    else
        die "need curl or wget to download $1"
    fi
}

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

from_tarball() {
    local os arch name want got
    os="$(uname -s | tr '[:upper:]' '[:lower:]')"
    case "$(uname -m)" in
        x86_64 | amd64) arch=amd64 ;;
        aarch64 | arm64) arch=arm64 ;;
        armv7l) arch=armv7 ;;
        i386 | i686) arch=386 ;;
        *) die "no prometheus release for machine type $(uname -m); set PROMTOOL instead" ;;
    esac
    name="prometheus-${PROMETHEUS_VERSION}.${os}-${arch}"
    local base="${PROMETHEUS_MIRROR}/v${PROMETHEUS_VERSION}"
    log "downloading $base/$name.tar.gz"
    fetch "$base/$name.tar.gz" "$WORK/$name.tar.gz" || die "download of $base/$name.tar.gz failed"
    fetch "$base/sha256sums.txt" "$WORK/sha256sums.txt" || die "download of sha256sums.txt failed"
    want="$(awk -v f="$name.tar.gz" '$2 == f { print $1 }' "$WORK/sha256sums.txt")"
    got="$(sha256_of "$WORK/$name.tar.gz")"
    [[ -n "$want" ]] || die "sha256sums.txt has no entry for $name.tar.gz"
    [[ "$want" == "$got" ]] || die "checksum mismatch for $name.tar.gz: want $want, got $got"
    log "checksum ok ($got)"
    tar -xzf "$WORK/$name.tar.gz" -C "$WORK"
    install_bin "$WORK/$name/promtool" promtool
    install_bin "$WORK/$name/prometheus" prometheus
}

# Decided up front so each method runs outside an `||` list, where `set -e` would be ignored.
choose_method() {
    if [[ "$METHOD" != auto ]]; then
        echo "$METHOD"
    elif reusable_promtool_env; then
        echo env
    elif command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
        echo apt
    else
        echo tarball
    fi
}

if already_installed; then
    log "already present in $BIN, nothing fetched"
    touch "$BIN/promtool"  # so make sees the target as newer than this script
else
    method="$(choose_method)"
    case "$method" in
        env) from_promtool_env ;;
        apt) from_apt ;;
        tarball) from_tarball ;;
        *) die "GET_PROMTOOL_METHOD must be auto, apt or tarball, not '$method'" ;;
    esac
fi

log "verifying:"
"$BIN/promtool" --version >&2 || die "$BIN/promtool --version failed"
"$BIN/prometheus" --version >&2 || die "$BIN/prometheus --version failed"
log "ok: $BIN/promtool and $BIN/prometheus"
