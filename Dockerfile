# livecue: one image for every role. Build: docker build -t livecue .
# The mediasoup worker is built from Debian's libraries by the same script the README's commands run.
FROM node:20-bookworm-slim AS mediasoup-worker
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY scripts/build-mediasoup-worker.sh scripts/
COPY scripts/mediasoup-worker scripts/mediasoup-worker
ENV LIVECUE_CACHE_DIR=/cache
RUN scripts/build-mediasoup-worker.sh > /worker-path

# The pages (Vite) and the server compiled to JavaScript (tsc): nothing compiles at run time.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY --from=mediasoup-worker /cache /cache
ENV MEDIASOUP_WORKER_BIN=/cache/mediasoup-worker-3.19.3/mediasoup-worker
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm install --no-audit --no-fund
COPY web ./web
COPY src ./src
RUN npm run build:web && npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY --from=mediasoup-worker /cache /cache
ENV MEDIASOUP_WORKER_BIN=/cache/mediasoup-worker-3.19.3/mediasoup-worker
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg redis-server ca-certificates tini \
      libuv1 libssl3 libsrtp2-1 libusrsctp2 libabsl20220623 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=mediasoup-worker /cache/mediasoup-worker-3.19.3/mediasoup-worker /usr/local/bin/mediasoup-worker
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY --from=build /app/dist ./dist
COPY drizzle ./drizzle
COPY config ./config
COPY scripts/own-session ./scripts/own-session
RUN mkdir -p /data && chown node:node /data
USER node
# Sane for every role: WebRTC keeps its loopback default (a media role that should be reached from
# outside sets WEBRTC_LISTEN_IP and WEBRTC_ANNOUNCED_ADDRESS, as k8s/ingest.yaml and k8s/sfu.yaml
# do); api and worker pods need neither. The port range matches EXPOSE.
ENV NODE_ENV=production LIVECUE_DATA_DIR=/data PORT=8080 RTMP_PORT=1935 \
    MEDIASOUP_WORKER_BIN=/usr/local/bin/mediasoup-worker WEBRTC_MIN_PORT=40000 WEBRTC_MAX_PORT=40100
EXPOSE 8080 1935 40000-40100/udp 40000-40100/tcp
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# tini reaps and forwards signals to one Node process running the compiled server (no tsx, no npm):
# SIGTERM reaches livecue itself, which drains and stops its children in order.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
