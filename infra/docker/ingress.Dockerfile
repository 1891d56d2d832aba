# syntax=docker/dockerfile:1
#
# Tessera ingress image. Build from the repository root (the build context):
#   docker build -f infra/docker/ingress.Dockerfile -t tessera/ingress .
# (infra/compose.yaml does the same.) infra/docker/ingress.Dockerfile.dockerignore trims the context.
#
# Base image: Debian bookworm (glibc), never Alpine (musl): the argon2 binary in the lockfile
# (@node-rs/argon2-linux-*-gnu) is a glibc build. The ingress serves HTTP with node:http. Node 20.
ARG NODE_IMAGE=node:20-bookworm-slim

############################################################################
# Stage 1: install every dependency (dev included) and build all workspaces.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV TURBO_TELEMETRY_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Manifests first, so the dependency layer is cached until one of them changes.
COPY package.json package-lock.json ./
COPY packages/cli/package.json packages/cli/
COPY packages/client/package.json packages/client/
COPY packages/config/package.json packages/config/
COPY packages/core/package.json packages/core/
COPY packages/events/package.json packages/events/
COPY packages/passwords/package.json packages/passwords/
COPY packages/store/package.json packages/store/
COPY services/ingress/package.json services/ingress/
COPY services/worker/package.json services/worker/

# --ignore-scripts: the repository approves no install script the build needs (package.json
# `allowScripts` approves only deno's, which the image does not use); the native modules used at run
# time (argon2) ship prebuilt binaries. npm ci first; if it calls the lockfile out of sync
# (it holds one platform's optional binaries only, see DEVELOPERS.md) install the locked versions.
RUN npm ci --ignore-scripts || npm install --ignore-scripts

COPY tsconfig.json turbo.json ./
COPY packages/ packages/
COPY services/ services/
RUN npm run build \
 && find packages services -path '*/dist/*' \( -name '*.d.ts' -o -name '*.d.ts.map' -o -name '.tsbuildinfo' \) -delete

############################################################################
# Stage 2: production dependencies only (no TypeScript, turbo, vitest, biome, deno, testcontainers).
FROM ${NODE_IMAGE} AS deps
WORKDIR /src
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
COPY package.json package-lock.json ./
COPY packages/cli/package.json packages/cli/
COPY packages/client/package.json packages/client/
COPY packages/config/package.json packages/config/
COPY packages/core/package.json packages/core/
COPY packages/events/package.json packages/events/
COPY packages/passwords/package.json packages/passwords/
COPY packages/store/package.json packages/store/
COPY services/ingress/package.json services/ingress/
COPY services/worker/package.json services/worker/
RUN npm ci --omit=dev --ignore-scripts || npm install --omit=dev --ignore-scripts

############################################################################
# Stage 3: the runtime image: Node, production node_modules and the compiled JavaScript only.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TESSERA_HOST=0.0.0.0 \
    TESSERA_PORT=8080
WORKDIR /app

# Everything is owned by root and read-only for the process user: the ingress writes nothing to disk.
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/package.json ./
COPY --from=build /src/packages/config/package.json packages/config/
COPY --from=build /src/packages/config/dist packages/config/dist
COPY --from=build /src/packages/core/package.json packages/core/
COPY --from=build /src/packages/core/dist packages/core/dist
# the store's subscriptions share the SDK's heartbeat (@tessera/client)
COPY --from=build /src/packages/client/package.json packages/client/
COPY --from=build /src/packages/client/dist packages/client/dist
COPY --from=build /src/packages/events/package.json packages/events/
COPY --from=build /src/packages/events/dist packages/events/dist
COPY --from=build /src/packages/passwords/package.json packages/passwords/
COPY --from=build /src/packages/passwords/dist packages/passwords/dist
# store's Lua scripts are read from its sources (src/lua), beside dist/.
COPY --from=build /src/packages/store/package.json packages/store/
COPY --from=build /src/packages/store/dist packages/store/dist
COPY --from=build /src/packages/store/src/lua packages/store/src/lua
COPY --from=build /src/services/ingress/package.json services/ingress/
COPY --from=build /src/services/ingress/dist services/ingress/dist
COPY --from=build /src/services/ingress/bin services/ingress/bin

# Non-root: uid/gid 1000 is the `node` user of the base image. Numeric, so Kubernetes
# `runAsNonRoot` can verify it without a runAsUser.
USER 1000:1000
EXPOSE 8080
STOPSIGNAL SIGTERM
# Liveness for plain `docker run` (compose and Kubernetes define their own checks). The slim image
# has no curl: Node's fetch does it.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.TESSERA_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node flags: INGRESS_NODE_FLAGS in services/ingress/src/flags.ts (a test keeps the two equal).
CMD ["node", "--max-semi-space-size=8", "--max-old-space-size=128", "services/ingress/bin/ingress.cjs"]
