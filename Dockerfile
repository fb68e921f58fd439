# syntax=docker/dockerfile:1
# One image, two processes: `node dist/server.js` (API, the default) and `node dist/worker.js` (Temporal worker).
# docs/operations.md ("Beyond one machine") has the environment, probes and scaling notes. Built and checked by reading
# only: the development machines of this project have no Docker.
#
#   docker build -t gerede-twijfel .
#   docker run -e DATABASE_URL=… -e TEMPORAL_ADDRESS=… -e ACM_REPORT_EMAIL=… -p 3000:3000 gerede-twijfel
#   docker run -e DATABASE_URL=… -e TEMPORAL_ADDRESS=… -e SMTP_URL=… -e ACM_REPORT_EMAIL=… --no-healthcheck \
#     gerede-twijfel node --max-old-space-size=128 dist/worker.js
# (the worker's main-thread heap bounded by the flag, its workflow thread by WORKER_WORKFLOW_HEAP_MB: about 350 MiB
# resident with 10,000 open cases, see docs/benchmarks.md; give the container 512 MiB)

# The Node.js LTS line of package.json's engines (scripts/provision.sh installs the same line on a development machine).
ARG NODE_VERSION=24

# ── build: all dependencies, compile TypeScript, then drop the dev dependencies ──────────────────────
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ── runtime: compiled code, production dependencies, migrations; no compiler, no sources, not root ───
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    METRICS_PORT=9464
WORKDIR /app
# package.json: "type": "module" for dist/*.js, and the marker lib/infra finds the project root by.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Applied by every API start (dist/db/migrate.js reads ../../db/migrations), or alone: node dist/db/migrate.js
COPY --from=build /app/db/migrations ./db/migrations
# The node user (uid 1000) of the official image; the process writes nothing to disk.
USER node
# 3000: the API; 9464: /metrics of the API or the worker (and a worker's /livez, /readyz), for the platform only.
EXPOSE 3000 9464
# The API's probe; a worker container's is http://127.0.0.1:9464/readyz: override it there (or the orchestrator's).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/server.js"]
