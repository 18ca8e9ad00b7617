#!/usr/bin/env bash
# Put promtool and the prometheus server binary into DEST/bin without installing anything
# system-wide.
#
#   scripts/get-promtool.sh DEST                   # e.g. .tools  ->  .tools/bin/{promtool,prometheus}
#   scripts/get-promtool.sh --line 3.5 DEST        # one release line, pinned (see below)
#   scripts/get-promtool.sh --line 3.5 --optional DEST
#
# Without --line, where the binaries come from, first match wins:
#   1. PROMTOOL=/path/to/promtool outside DEST, with a `prometheus` binary next to it: copied.
#   2. apt-get + dpkg available: `apt-get download prometheus` and `dpkg -x` (Debian's version,
#      2.42.0 on bookworm). `apt-get update` is run only if the download fails and we are root.
#   3. Otherwise the official release tarball, PROMETHEUS_VERSION (default 2.53.4), checked
#      against the release's sha256sums.txt.
# GET_PROMTOOL_METHOD=apt|tarball forces 2 or 3. PROMETHEUS_MIRROR replaces the GitHub
# releases base URL (anything curl/wget can fetch, e.g. an internal mirror).
#
# With --line LINE (2.42 or 3.5; `make bootstrap` fetches both), one pinned Debian package
# version of that release line (PROMTOOL and PROMETHEUS_VERSION are ignored):
#   line   Debian suites   pinned version          tarball (no apt-get, or GET_PROMTOOL_METHOD=tarball)
#   2.42   bookworm        2.42.0+ds-5+deb12u1     2.42.0
#   3.5    sid, forky      3.5.3+ds1-6             3.5.3
# The packages (`prometheus`, and `promtool` where Debian splits it out) are fetched with
# `apt-get download` against a TEMPORARY sources list and lists directory passed with apt's
# -o options; /etc/apt and the system's package lists are never read for sources nor changed,
# and no `apt-get update` of the system is run. If the pinned version is gone from the archive,
# the newest version of the same line is taken with a loud warning (GET_PROMTOOL_EXACT=1 makes
# that an error). DEBIAN_MIRROR replaces http://deb.debian.org/debian. The binaries' Debian
# builds need glibc >= 2.34 (bookworm has 2.36). What was installed is recorded in DEST/VERSION.
# --optional: if the line cannot be had, write the reason to DEST/UNAVAILABLE and exit 0 (the
# tests for that line then skip, naming the reason); on success DEST/UNAVAILABLE is removed.
#
# Idempotent: if DEST/bin already holds a working promtool and prometheus (of LINE, with
# --line), nothing is fetched. Delete DEST (`make clean`) to fetch again.
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-2.53.4}"
PROMETHEUS_MIRROR="${PROMETHEUS_MIRROR:-https://github.com/prometheus/prometheus/releases/download}"
METHOD="${GET_PROMTOOL_METHOD:-auto}"

DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
LINE=""
OPTIONAL=0
UNAVAILABLE=""  # DEST/UNAVAILABLE with --line: where die() records why the line cannot be had

log() { printf 'get-promtool: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    if [[ -n "$UNAVAILABLE" ]]; then
        printf 'promtool/prometheus %s could not be fetched: %s\n' "$LINE" "$*" >"$UNAVAILABLE"
    fi
    exit 1
}
usage="usage: $0 [--line 2.42|3.5 [--optional]] DEST   (binaries go to DEST/bin/)"

while [[ $# -gt 1 ]]; do
    case "$1" in
        --line) [[ $# -gt 2 ]] || die "$usage"; LINE="$2"; shift 2 ;;
        --optional) OPTIONAL=1; shift ;;
        *) die "$usage" ;;
    esac
done
[[ $# -eq 1 && -n "$1" && "$1" != -* ]] || die "$usage"
[[ $OPTIONAL -eq 0 || -n "$LINE" ]] || die "--optional needs --line"

# The release lines `make bootstrap` fetches: Debian suites, pinned package version, tarball.
case "$LINE" in
    "") ;;
    2.42) LINE_SUITES="bookworm"; LINE_PIN="2.42.0+ds-5+deb12u1"; LINE_TARBALL="2.42.0" ;;
    3.5) LINE_SUITES="sid forky"; LINE_PIN="3.5.3+ds1-6"; LINE_TARBALL="3.5.3" ;;
    *) die "unknown --line '$LINE' (known: 2.42, 3.5)" ;;
esac

# --optional: run this script again without it; if that fails, the line is recorded as
# unavailable (the child's die() wrote the reason) and this exits 0.
if [[ $OPTIONAL -eq 1 ]]; then
    mkdir -p "$1"
    if bash "${BASH_SOURCE[0]}" --line "$LINE" "$1"; then
        exit 0
    fi
    [[ -s "$1/UNAVAILABLE" ]] \
        || echo "promtool/prometheus $LINE could not be fetched (get-promtool.sh failed)" >"$1/UNAVAILABLE"
    log "WARNING: ======================================================================"
    log "WARNING: $(cat "$1/UNAVAILABLE")"
    log "WARNING: the tests for $LINE will be SKIPPED with that reason (see $1/UNAVAILABLE)"
    log "WARNING: ======================================================================"
    exit 0
fi

mkdir -p "$1/bin"
DEST="$(cd "$1" && pwd -P)"
BIN="$DEST/bin"
[[ -z "$LINE" ]] || UNAVAILABLE="$DEST/UNAVAILABLE"

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
        && "$BIN/prometheus" --version >/dev/null 2>&1 \
        && { [[ -z "$LINE" ]] || { of_line "$BIN/promtool" && of_line "$BIN/prometheus"; }; }
}

# of_line BINARY: true when BINARY --version says it is of release line LINE (e.g. 3.5.x).
of_line() {
    local first re="^(promtool|prometheus), version v?${LINE//./\\.}\\.[0-9]"
    first="$("$1" --version 2>&1 | head -n 1)" || return 1
    [[ "$first" =~ $re ]]
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

# from_apt_line: LINE's pinned Debian packages, through a temporary sources list (see the top).
from_apt_line() {
    local apt="$WORK/apt" suite keyring="/usr/share/keyrings/debian-archive-keyring.gpg" opts
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d" \
        "$apt/preferences.d" "$WORK/deb"
    : >"$apt/sources.list"
    local signed=""
    [[ -r "$keyring" ]] && signed="signed-by=$keyring "
    for suite in $LINE_SUITES; do
        echo "deb [${signed}target=Packages] $DEBIAN_MIRROR $suite main" >>"$apt/sources.list"
    done
    # Everything apt reads or writes about sources, lists and caches is under $apt; the dpkg
    # status it reads is the system's (read only). Nothing is installed.
    opts=(-o "Dir::Etc::sourcelist=$apt/sources.list" -o "Dir::Etc::sourceparts=$apt/sources.list.d"
          -o "Dir::Etc::preferences=$apt/preferences" -o "Dir::Etc::preferencesparts=$apt/preferences.d"
          -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
          -o "APT::Get::List-Cleanup=0")
    [[ $EUID -eq 0 ]] && opts+=(-o APT::Sandbox::User=root)  # _apt cannot enter $WORK
    log "apt-get update against a temporary sources list: $DEBIAN_MIRROR $LINE_SUITES (main)"
    apt-get "${opts[@]}" -q update >&2 \
        || die "apt-get update of the temporary sources list ($DEBIAN_MIRROR $LINE_SUITES) failed"
    local versions want="" v
    versions="$(apt-cache "${opts[@]}" madison prometheus 2>/dev/null \
        | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | sort -u)"
    [[ -n "$versions" ]] || die "no prometheus package in $DEBIAN_MIRROR $LINE_SUITES (if \
apt-get update could not fetch its lists, it said so above)"
    if grep -qxF "$LINE_PIN" <<<"$versions"; then
        want="$LINE_PIN"
        FALLBACK=""
    else
        for v in $versions; do  # the newest version of the same line (epoch-less x.y.z)
            [[ "${v#*:}" == "$LINE".* ]] || continue
            if [[ -z "$want" ]] || dpkg --compare-versions "$v" gt "$want"; then want="$v"; fi
        done
        local seen="${versions//$'\n'/, }"
        [[ -n "$want" ]] || die "the pinned prometheus $LINE_PIN is gone from $DEBIAN_MIRROR \
$LINE_SUITES and no other $LINE.x is there (it has: $seen). Update LINE_PIN in $0."
        [[ "${GET_PROMTOOL_EXACT:-0}" != 1 ]] || die "the pinned prometheus $LINE_PIN is gone \
from $DEBIAN_MIRROR $LINE_SUITES (it has: $seen) and GET_PROMTOOL_EXACT=1 forbids a fallback"
        FALLBACK="pinned $LINE_PIN not in the archive; took the newest $LINE.x"
        log "WARNING: ======================================================================"
        log "WARNING: pinned prometheus $LINE_PIN is GONE from $DEBIAN_MIRROR $LINE_SUITES"
        log "WARNING: falling back to prometheus $want (newest $LINE.x there; it has: $seen)"
        log "WARNING: recorded in $DEST/VERSION. Update LINE_PIN in $0 to silence this."
        log "WARNING: ======================================================================"
    fi
    local pkgs=("prometheus=$want")
    # Debian ships promtool in its own package from 3.x on; download it at the same version.
    if apt-cache "${opts[@]}" madison promtool 2>/dev/null \
            | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -qxF "$want"; then
        pkgs+=("promtool=$want")
    fi
    log "apt-get download ${pkgs[*]}"
    (cd "$WORK/deb" && apt-get "${opts[@]}" -q download "${pkgs[@]}" >&2) \
        || die "apt-get download ${pkgs[*]} from $DEBIAN_MIRROR $LINE_SUITES failed"
    local deb
    for deb in "$WORK"/deb/*.deb; do
        [[ -f "$deb" ]] || die "apt-get download produced no .deb"
        log "unpacking $(basename "$deb") (dpkg -x, nothing is installed)"
        dpkg -x "$deb" "$WORK/root"
    done
    check_runs "$WORK/root/usr/bin/promtool" "$want"
    check_runs "$WORK/root/usr/bin/prometheus" "$want"
    install_bin "$WORK/root/usr/bin/promtool" promtool
    install_bin "$WORK/root/usr/bin/prometheus" prometheus
    SOURCE="Debian package ${pkgs[*]} ($DEBIAN_MIRROR $LINE_SUITES main, apt-get download + dpkg -x)"
    INSTALLED="$want"
}

# check_runs BINARY VERSION: it runs here and is of LINE (a Debian build newer than this system's glibc
# fails to start: the error names the missing GLIBC_x.y).
check_runs() {
    [[ -x "$1" ]] || die "expected an executable at $1 in the package"
    local out
    out="$("$1" --version 2>&1)" || die "$(basename "$1") $2 does not run here \
(the Debian build needs glibc >= 2.34; this system has $(ldd --version 2>/dev/null | head -n 1 \
| awk '{ print $NF }')): $(head -n 1 <<<"$out")"
    of_line "$1" || die "$1 is not of line $LINE: $(head -n 1 <<<"$out")"
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
    SOURCE="release tarball $base/$name.tar.gz (sha256 $got)"
    INSTALLED="$PROMETHEUS_VERSION"
}

# Decided up front so each method runs outside an `||` list, where `set -e` would be ignored.
choose_method() {
    if [[ "$METHOD" != auto ]]; then
        echo "$METHOD"
    elif [[ -z "$LINE" ]] && reusable_promtool_env; then
        echo env
    elif command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
        echo apt
    else
        echo tarball
    fi
}

SOURCE=""     # where the binaries came from, for DEST/VERSION (--line)
INSTALLED=""  # the package or release version installed
FALLBACK=""   # why it is not the pinned version, if it is not
if [[ -n "$LINE" ]]; then
    PROMETHEUS_VERSION="$LINE_TARBALL"
fi

if already_installed; then
    log "already present in $BIN, nothing fetched"
    touch "$BIN/promtool"  # so make sees the target as newer than this script
else
    method="$(choose_method)"
    case "$method:$LINE" in
        env:) from_promtool_env ;;
        apt:) from_apt ;;
        apt:*) from_apt_line ;;
        tarball:*) from_tarball ;;
        *) die "GET_PROMTOOL_METHOD must be auto, apt or tarball, not '$method'" ;;
    esac
fi

log "verifying:"
"$BIN/promtool" --version >&2 || die "$BIN/promtool --version failed"
"$BIN/prometheus" --version >&2 || die "$BIN/prometheus --version failed"
if [[ -n "$LINE" ]]; then
    of_line "$BIN/promtool" && of_line "$BIN/prometheus" \
        || die "$BIN holds binaries of another line than $LINE"
    if [[ -n "$SOURCE" || ! -s "$DEST/VERSION" ]]; then  # kept as it is when nothing was fetched
        {
            echo "line: $LINE"
            echo "pinned: $LINE_PIN (Debian), $LINE_TARBALL (release tarball)"
            echo "installed: ${INSTALLED:-unknown (found in $BIN)}"
            [[ -z "$FALLBACK" ]] || echo "fallback: $FALLBACK"
            echo "source: ${SOURCE:-unknown (found in $BIN)}"
            echo "promtool: $("$BIN/promtool" --version 2>&1 | head -n 1)"
            echo "prometheus: $("$BIN/prometheus" --version 2>&1 | head -n 1)"
        } >"$DEST/.VERSION.tmp"
        mv -f "$DEST/.VERSION.tmp" "$DEST/VERSION"
    fi
    rm -f "$DEST/UNAVAILABLE"
    log "recorded in $DEST/VERSION:"
    sed 's/^/    /' "$DEST/VERSION" >&2
fi
log "ok: $BIN/promtool and $BIN/prometheus"
