# The ovn-multinet node image: the single executable, nothing else. Run as a privileged,
# host-network DaemonSet (manifests/daemonset.yaml); an init container copies the executable
# to the host's CNI bin directory.
#   podman build --network host -t ovn-multinet:dev .
# BASE can point at a locally imported image where no registry is reachable
# (e.g. --build-arg BASE=localhost/debian:bookworm-slim).
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm g++ make python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN PATH=/src/node_modules/.bin:$PATH node scripts/build.ts

FROM ${BASE}
COPY --from=build /src/dist/ovn-multinet /usr/local/bin/ovn-multinet
ENTRYPOINT ["/usr/local/bin/ovn-multinet"]
CMD ["daemon"]
