# syntax=docker/dockerfile:1
# Multi-stage: compile TypeScript with the dev dependencies, ship only dist/src (what the
# npm package holds) and the production dependencies, run as the unprivileged `node` user.
# The server and the admin CLI are the compiled `sliding-sessions` command:
#   docker compose exec app1 sliding-sessions admin sessions list

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
# argon2 ships prebuilt binaries for linux-x64/arm64 glibc, so no compiler is needed here.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# The package's bin on PATH, as `npm install -g` would put it (npm ci does not link the
# project's own bin).
RUN chmod 0755 dist/src/bin.js && ln -s /app/dist/src/bin.js /usr/local/bin/sliding-sessions
USER node
EXPOSE 3000
# /healthz answers while the process is up (liveness); HAProxy uses /readyz (readiness).
# The slim image has no curl: Node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (drain, then exit 0): no shell wrapper, which
# would swallow the signal.
CMD ["node", "dist/src/bin.js", "serve"]
