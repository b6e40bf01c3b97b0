#!/usr/bin/env bash
# Installs what livecue needs on Debian 12 (ffmpeg, redis-server, npm packages) and starts it on its
# embedded defaults: PGlite and a redis-server child in ./data, media on the filesystem.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
apt_ensure ffmpeg redis-server ca-certificates
npm_ensure
exec npm start
