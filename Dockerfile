# syntax=docker/dockerfile:1
# Console stage: admin-ui built with Node 20 as `make ui` does (npm ci, npm run build);
# the catalogues in locales/ are part of the build.
FROM node:20-bookworm-slim AS console
WORKDIR /src/admin-ui
COPY admin-ui/package.json admin-ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY locales /src/locales
COPY admin-ui ./
RUN npm run build

# Build stage: the same Debian packages as tools/install-deps.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libwebsockets-dev libwebsockets-evlib-uv libuv1-dev \
      libhiredis-dev libcurl4-openssl-dev libssl-dev libmariadb-dev libpq-dev libsqlite3-dev \
      libjansson-dev libjwt-dev liblua5.4-dev libcrypt-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j"$(nproc)" --target token-factory

# Runtime stage: shared libraries only. libwebsockets-evlib-uv is required:
# libwebsockets17 does not depend on it, but the gateway runs lws on libuv and
# lws dlopen()s that plugin at context creation.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libwebsockets17 libwebsockets-evlib-uv libuv1 libhiredis0.14 libcurl4 libssl3 \
      libmariadb3 libpq5 libsqlite3-0 libjansson4 libjwt0 liblua5.4-0 libcrypt1 \
      redis-server ca-certificates wget \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/token-factory /usr/local/bin/token-factory
COPY --from=console /src/admin-ui/dist /app/admin-ui/dist
WORKDIR /data
ENV DATA_DIR=/data STATIC_DIR=/app/admin-ui/dist PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD wget -q -O - http://localhost:3000/api/status | grep -q '"success":true' || exit 1
ENTRYPOINT ["/usr/local/bin/token-factory"]
