# Shared by livecue's scripts: run as root or through sudo, install Debian packages only when missing.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_ensure() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "livecue: installing ${missing[*]} (apt)" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The mediasoup worker, built offline from Debian's libraries and cached outside node_modules
# (~3 min the first time, instant after). mediasoup's own install would download it from GitHub.
mediasoup_ensure() {
  MEDIASOUP_WORKER_BIN="$(scripts/build-mediasoup-worker.sh)"
  export MEDIASOUP_WORKER_BIN
}

# Installs the locked packages when node_modules is missing or older than the lockfile. `npm install`
# rather than `npm ci`: registries that carry only Linux builds leave other platforms' optional
# packages (e.g. msgpackr-extract for macOS) out of the lockfile, which `npm ci` refuses.
npm_ensure() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm install --no-audit --no-fund
  fi
}
