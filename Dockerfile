# One image for every Inlet app; docker-compose.yml picks the command.
#
# Only named files reach the image: the build stage compiles the TypeScript, the runtime-deps
# stage installs the app workspaces' production dependencies, and the final stage copies their
# package.json and compiled output over that. A .env, a sources file, keys or certificates beside
# the Dockerfile are never copied (and .dockerignore keeps them out of the build context too).
# test/docker-image.test.ts checks all of this without Docker.

FROM node:20-bookworm-slim AS npm
# The npm that package.json's packageManager names: how it reads the lockfile is what the tests check.
RUN npm install --global npm@11.19.1 --no-audit --no-fund

FROM npm AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1
COPY package.json package-lock.json tsconfig.json turbo.json ./
COPY scripts/patch-postgres.mjs scripts/
COPY packages packages
COPY apps apps
RUN npm ci --no-audit --no-fund
RUN npm run build -- --filter='./apps/*'

FROM npm AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/patch-postgres.mjs scripts/
COPY apps/cli/package.json apps/cli/
COPY apps/dashboard/package.json apps/dashboard/
COPY apps/ingest/package.json apps/ingest/
COPY apps/worker/package.json apps/worker/
COPY packages/config/package.json packages/config/
COPY packages/db/package.json packages/db/
COPY packages/queue/package.json packages/queue/
COPY packages/replay/package.json packages/replay/
COPY packages/signatures/package.json packages/signatures/
COPY packages/tsconfig/package.json packages/tsconfig/
# Without the root's devDependencies, and with the test, bench and testkit workspaces absent, the
# install holds what the apps import and nothing else (no TypeScript, test runner or load tools).
RUN npm pkg delete devDependencies \
  && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && node scripts/patch-postgres.mjs

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=runtime-deps /app /app
COPY --from=build /app/apps/cli/bin apps/cli/bin
COPY --from=build /app/apps/cli/dist apps/cli/dist
COPY --from=build /app/apps/dashboard/dist apps/dashboard/dist
COPY --from=build /app/apps/ingest/dist apps/ingest/dist
COPY --from=build /app/apps/worker/dist apps/worker/dist
COPY --from=build /app/packages/config/dist packages/config/dist
COPY --from=build /app/packages/db/dist packages/db/dist
COPY --from=build /app/packages/db/migrations packages/db/migrations
COPY --from=build /app/packages/queue/dist packages/queue/dist
COPY --from=build /app/packages/replay/dist packages/replay/dist
COPY --from=build /app/packages/signatures/dist packages/signatures/dist
COPY --from=build /app/packages/tsconfig/base.json packages/tsconfig/
# The files above belong to root: the apps, running as node, can read their code but not change it.
USER node
CMD ["node", "apps/ingest/dist/main.js"]
