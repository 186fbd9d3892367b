# The Parachute hub as a container image (deploy.md, "Containers").
#
# Build the binary first, then the image from the repository root:
#   npm ci && npm run build          # writes dist/parachute (linux, this CPU)
#   docker build -t parachute .      # or: podman build -t parachute .
#
# The base is a build argument so an offline build can point at a local copy
# of it (test/platform/container.test.ts); real builds keep the default.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# tini is PID 1: it forwards SIGTERM/SIGINT to the hub and reaps every orphan
# a module leaves behind. The hub stops and reaps its own children, but not
# grandchildren re-parented to PID 1, which would pile up as zombies.
# ca-certificates: modules that fetch over HTTPS with the system store.
# One user, uid 1000, owns the volume; nothing runs as root.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 parachute \
 && useradd --uid 1000 --gid 1000 --home-dir /parachute --no-create-home \
      --shell /usr/sbin/nologin parachute \
 && mkdir -p /parachute \
 && chown parachute:parachute /parachute

# Everything that grows lives on the volume: the hub's state, installed
# modules, temp files and the bun install cache (installs rename from the
# cache and TMPDIR into node_modules, which must be one filesystem).
# $PARACHUTE_HOME/bin holds the hub's `bun` shims for module commands.
# PARACHUTE_IMAGE: the binary is part of this image, so `parachute upgrade
# --hub` says to redeploy instead of replacing it.
ENV PARACHUTE_HOME=/parachute \
    PARACHUTE_IMAGE=1 \
    PARACHUTE_BIND_HOST=0.0.0.0 \
    PORT=1939 \
    TMPDIR=/parachute/tmp \
    BUN_INSTALL_CACHE_DIR=/parachute/cache/bun \
    HOME=/parachute \
    PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:/parachute/bin

# Last, so a new binary rebuilds only this layer. BINARY picks another build
# of it, e.g. dist/parachute-linux-x64 from `bun run build.ts --release` on a Mac.
ARG BINARY=dist/parachute
COPY ${BINARY} /usr/local/bin/parachute

VOLUME /parachute
WORKDIR /parachute
# Numeric, so platforms that check "runs as non-root" (and Fly, which mounts
# the volume for the image's user) need no /etc/passwd lookup.
USER 1000:1000
EXPOSE 1939
# -s: where the platform runs its own init as PID 1 (Fly), tini still adopts
# and reaps the hub's orphans as a child subreaper.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["parachute", "serve"]
