#!/usr/bin/env bash
# Builds the mediasoup worker binary offline on Debian 12, from the worker sources shipped
# in the npm tarball and Debian's system libraries (mediasoup's own postinstall needs GitHub
# and PyPI, which are unreachable here). See /work/shared/notes/mediasoup-worker.md.
#
# Usage: scripts/build-mediasoup-worker.sh [--force]
#   Prints the absolute path of the worker binary on stdout (everything else goes to stderr),
#   so callers can do: export MEDIASOUP_WORKER_BIN="$(scripts/build-mediasoup-worker.sh)"
#   --force  rebuild even if a cached binary passes the self-check.
# Environment:
#   MEDIASOUP_VERSION  mediasoup version whose worker to build (default 3.19.3)
#   LIVECUE_CACHE_DIR  cache root (default $HOME/.cache/livecue); the binary lands in
#                      $LIVECUE_CACHE_DIR/mediasoup-worker-$MEDIASOUP_VERSION/mediasoup-worker
set -euo pipefail

VERSION="${MEDIASOUP_VERSION:-3.19.3}"
CACHE_ROOT="${LIVECUE_CACHE_DIR:-${HOME:?HOME is not set; set LIVECUE_CACHE_DIR}/.cache/livecue}"
OUT_DIR="${CACHE_ROOT}/mediasoup-worker-${VERSION}"
OUT_BIN="${OUT_DIR}/mediasoup-worker"
BUILD_DIR="${OUT_DIR}/build-tmp"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES_DIR="${SCRIPT_DIR}/mediasoup-worker"

# Debian packages replacing mediasoup's meson subprojects, plus the toolchain.
APT_PACKAGES=(
  build-essential pkg-config meson ninja-build
  libssl-dev libuv1-dev libusrsctp-dev libabsl-dev
  libflatbuffers-dev flatbuffers-compiler libsrtp2-dev
)
# Wraps that need no replacement: liburing is disabled (Debian's 2.3 is too old) and
# wingetopt is only used on Windows.
UNUSED_SUBPROJECTS=(liburing wingetopt)

log() { printf '[build-mediasoup-worker] %s\n' "$*" >&2; }
die() { printf '[build-mediasoup-worker] ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $arg" ;;
  esac
done

# The worker exits with code 41 when started without its environment (no
# MEDIASOUP_VERSION): proof that it loads its shared libraries and runs.
self_check() {
  local bin="$1" rc=0
  [[ -f "$bin" && -x "$bin" ]] || return 1
  timeout 10 env -i "$bin" </dev/null >/dev/null 2>&1 || rc=$?
  [[ "$rc" -eq 41 ]]
}

# Fast path: cached binary.
if [[ "$FORCE" -eq 0 ]] && self_check "$OUT_BIN"; then
  printf '%s\n' "$OUT_BIN"
  exit 0
fi

START_TS=$SECONDS
[[ -d "$TEMPLATES_DIR/subprojects" && -f "$TEMPLATES_DIR/srtp3-shim.h" ]] \
  || die "missing templates folder $TEMPLATES_DIR (subprojects/ and srtp3-shim.h)"

mkdir -p "$OUT_DIR"

# One build at a time per version; a concurrent run waits, then reuses the result.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${OUT_DIR}/.build.lock"
  if ! flock -n 9; then
    log "another build of mediasoup-worker ${VERSION} is running; waiting for it"
    flock 9
  fi
  if [[ "$FORCE" -eq 0 ]] && self_check "$OUT_BIN"; then
    printf '%s\n' "$OUT_BIN"
    exit 0
  fi
fi

# ---------------------------------------------------------------- apt packages
is_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [[ "${#missing[@]}" -gt 0 ]]; then
  log "installing missing apt packages: ${missing[*]}"
  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "not root and sudo is not available; install: ${missing[*]}"
    SUDO=(sudo)
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >&2 \
    || die "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get install failed for: ${missing[*]}"
  for pkg in "${missing[@]}"; do
    is_installed "$pkg" || die "apt package $pkg is still not installed"
  done
fi

command -v npm >/dev/null 2>&1 || die "npm is required (to fetch the mediasoup tarball)"

# ---------------------------------------------------------------- sources
WORK_TMP="$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker-src.XXXXXX")"
BUILD_OK=0
cleanup() {
  rm -rf "$WORK_TMP"
  rm -f "${OUT_DIR}/.mediasoup-worker.tmp.$$"
  if [[ "$BUILD_OK" -ne 1 && -d "$BUILD_DIR" ]]; then
    log "build failed; build tree kept for inspection in $BUILD_DIR (removed by the next run)"
  fi
}
trap cleanup EXIT

log "fetching mediasoup@${VERSION} from the npm registry"
(cd "$WORK_TMP" && npm pack "mediasoup@${VERSION}" --silent >/dev/null) \
  || die "npm pack mediasoup@${VERSION} failed"
shopt -s nullglob
tarballs=("$WORK_TMP"/mediasoup-*.tgz)
shopt -u nullglob
[[ "${#tarballs[@]}" -eq 1 ]] || die "npm pack did not produce exactly one tarball in $WORK_TMP"
tar -xzf "${tarballs[0]}" -C "$WORK_TMP" package/package.json package/worker \
  || die "could not extract package/worker from ${tarballs[0]}"
grep -q "\"version\": *\"${VERSION//./\\.}\"" "$WORK_TMP/package/package.json" \
  || die "tarball is not mediasoup ${VERSION}"
[[ -f "$WORK_TMP/package/worker/meson.build" ]] || die "tarball has no worker/meson.build"

rm -rf "$BUILD_DIR"
cp -a "$WORK_TMP/package/worker" "$BUILD_DIR"

# ---------------------------------------------------------------- subprojects
# Each wrap gets the folder named by its `directory =` line, holding a meson.build
# that exposes the system library under the variable names mediasoup reads (and a
# meson_options.txt where mediasoup passes subproject options).
shopt -s nullglob
wraps=("$BUILD_DIR"/subprojects/*.wrap)
shopt -u nullglob
[[ "${#wraps[@]}" -gt 0 ]] || die "no subprojects/*.wrap in the worker sources"

for wrap in "${wraps[@]}"; do
  name="$(basename "$wrap" .wrap)"
  if [[ " ${UNUSED_SUBPROJECTS[*]} " == *" $name "* ]]; then
    continue
  fi
  template_dir="$TEMPLATES_DIR/subprojects/$name"
  [[ -f "$template_dir/meson.build" ]] \
    || die "mediasoup ${VERSION} has subproject '$name' with no system-library replacement (expected $template_dir/meson.build)"
  dir="$(sed -n 's/^[[:space:]]*directory[[:space:]]*=[[:space:]]*//p' "$wrap" | head -n1 | tr -d '\r[:space:]')"
  [[ -n "$dir" ]] || dir="$name"
  rm -rf "$BUILD_DIR/subprojects/$dir"
  mkdir -p "$BUILD_DIR/subprojects/$dir"
  cp -a "$template_dir/." "$BUILD_DIR/subprojects/$dir/"
  if [[ "$name" == libsrtp3 ]]; then
    cp "$TEMPLATES_DIR/srtp3-shim.h" "$BUILD_DIR/subprojects/$dir/srtp3-shim.h"
  fi
  log "subproject $name -> subprojects/$dir (system library)"
done

# ---------------------------------------------------------------- source edits
# (a) meson.build requires a newer meson than Debian 12's 1.0.1; it builds fine with it.
meson_build="$BUILD_DIR/meson.build"
grep -Eq "meson_version *: *'>= *[0-9.]+'" "$meson_build" \
  || die "meson_version requirement not found in meson.build; the edit needs updating"
sed -i -E "s/meson_version *: *'>= *[0-9.]+'/meson_version: '>= 1.0.0'/" "$meson_build"
grep -Fq "meson_version: '>= 1.0.0'" "$meson_build" \
  || die "failed to lower the meson_version requirement in meson.build"

# (b) mediasoup bug: the DTLS BIO callback must return the real result on the
# BIO_CB_RETURN pass, which is flagged together with the operation
# (BIO_CB_RETURN | BIO_CB_WRITE, ...), so `== BIO_CB_RETURN` never matches. With
# Debian's kTLS-enabled OpenSSL the worker otherwise SIGSEGVs on the first DTLS handshake.
dtls_cpp="$BUILD_DIR/src/RTC/DtlsTransport.cpp"
[[ -f "$dtls_cpp" ]] || die "src/RTC/DtlsTransport.cpp not found"
sed -i -E 's/\(operationType == BIO_CB_RETURN\)/(operationType \& BIO_CB_RETURN)/' "$dtls_cpp"
if grep -Fq '(operationType == BIO_CB_RETURN)' "$dtls_cpp" \
  || ! grep -Fq '(operationType & BIO_CB_RETURN)' "$dtls_cpp"; then
  die "failed to fix the BIO callback condition in DtlsTransport.cpp (expected '(operationType & BIO_CB_RETURN)')"
fi

# ---------------------------------------------------------------- build
cd "$BUILD_DIR"
log "meson setup"
meson setup out/build \
  --wrap-mode=nodownload \
  --buildtype release \
  -Db_ndebug=true \
  -Dms_disable_liburing=true >&2 \
  || die "meson setup failed"
log "generating flatbuffers headers"
meson compile -C out/build flatbuffers-generator >&2 \
  || die "flatbuffers-generator failed"
log "compiling mediasoup-worker (several minutes)"
ninja -C out/build mediasoup-worker >&2 \
  || die "compiling mediasoup-worker failed"

built="$BUILD_DIR/out/build/mediasoup-worker"
[[ -x "$built" ]] || die "build finished but $built is missing"

tmp_bin="${OUT_DIR}/.mediasoup-worker.tmp.$$"
cp "$built" "$tmp_bin"
chmod 0755 "$tmp_bin"
self_check "$tmp_bin" || die "built worker failed the self-check (env -i $built should exit with code 41)"
mv -f "$tmp_bin" "$OUT_BIN"
self_check "$OUT_BIN" || die "installed worker failed the self-check: $OUT_BIN"

cd "$OUT_DIR"
BUILD_OK=1
rm -rf "$BUILD_DIR"
log "built mediasoup-worker ${VERSION} in $((SECONDS - START_TS)) s"
printf '%s\n' "$OUT_BIN"
