#!/usr/bin/env bash
# Installs what livecue needs on Debian 12 (ffmpeg, redis-server, the mediasoup worker, npm packages)
# and starts it on its embedded defaults: PGlite and a redis-server child in ./data, media on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
apt_ensure ffmpeg redis-server ca-certificates
mediasoup_ensure
npm_ensure
npm run build:web
npm run build
# One Node process running the compiled server: Ctrl-C reaches livecue itself, which stops its
# children (redis-server, FFmpeg, mediasoup workers: each in its own process group) in order.
exec node dist/main.js
