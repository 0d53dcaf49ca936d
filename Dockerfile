# failoverd container image (multi-stage).
#   docker build -t failoverd .
#   docker run -v ./deploy/failoverd.yaml:/etc/failoverd/failoverd.yaml:ro \
#              -v ./zones:/etc/failoverd/zones:ro -v failoverd-state:/var/lib/failoverd \
#              -p 5353:5353/udp -p 5353:5353/tcp failoverd
# Fixed paths: config /etc/failoverd/failoverd.yaml, zones /etc/failoverd/zones
# (the config's `zones: zones` is relative to it), state /var/lib/failoverd.
# test/image-build.test.ts runs these same steps as plain commands (no Docker engine there).

# --- build: compile src/ to dist/ with the dev dependencies (esbuild) ---
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/build.mjs scripts/build-stamp.mjs scripts/
COPY src src
RUN npm run build

# --- runtime: production dependencies and dist/ only, as a non-root user ---
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY bin bin
# No config is baked in: mount yours (and its zones) at /etc/failoverd.
RUN mkdir -p /etc/failoverd /var/lib/failoverd && chown node:node /var/lib/failoverd
USER node
VOLUME ["/var/lib/failoverd"]
# DNS (UDP and TCP) and the admin API; ports above 1023 so no capability is needed.
EXPOSE 5353/udp 5353/tcp 8053/tcp
# Ready = zones loaded and the first probe round done (GET /readyz on the admin API;
# set FAILOVERD_ADMIN_PORT when admin.listen uses another port than 8053).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FAILOVERD_ADMIN_PORT || '8053') + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Through bin/ as every other way to run: the early-SIGHUP guard and FAILOVERD_V8_FLAGS.
ENTRYPOINT ["node", "/app/bin/failoverd.js"]
CMD ["run", "--config", "/etc/failoverd/failoverd.yaml"]
