#!/usr/bin/env bash
# npm run image: builds the node image localhost/ovn-multinet:dev from the Dockerfile with
# podman and smoke-tests it the way manifests/daemonset.yaml runs it. As root on Debian 12.
#
#   bash scripts/image.sh [--no-test]
#
# 1. Installs podman, buildah and debootstrap from apt when missing (and the OVS/OVN packages,
#    scripts/install-deps.sh --no-npm).
# 2. No registry is reachable here: makes the base image localhost/debian:bookworm-slim with
#    debootstrap --variant=minbase from the Debian mirror apt already uses, unless podman has it.
# 3. podman build --network host --build-arg BASE=localhost/debian:bookworm-slim
#    -t localhost/ovn-multinet:dev . The build secret npm_ca (the CA of a TLS-intercepting
#    proxy) holds the certificates of the host's CA bundle that scripts/build-ca.sha256 pins
#    (none: no secret), or the file OVN_MULTINET_BUILD_CA names, as it is: the build fails on
#    any certificate in it that is not pinned (scripts/check-ca.sh).
# 4. Smoke tests (skipped with --no-test): `ovn-multinetd --version`; ldd of the daemon
#    executable in the image; a CNI VERSION call to ovn-multinet (the Go CNI executable) in the image; the DaemonSet's install-cni command
#    copies the executable out of the image; the daemon runs from the image as the DaemonSet
#    pod does (root with NET_ADMIN, SYS_ADMIN and SYS_PTRACE only, hostPID, the node's network
#    namespace, /var/run/netns shared rslave,
#    the socket's run dir and the OVS/OVN sockets mounted) against a private OVS/OVN
#    (scripts/sandbox.sh, ovs-vswitchd in a network namespace this script makes); the copied
#    executable makes one CNI ADD and DEL on a logical switch made with ovn-nbctl, and the pod
#    netns must get an address, then lose it with nothing left in OVN/OVS.
# Everything it starts (container, sandbox, network namespaces, temp dir) is removed on exit;
# if it installed podman, podman's /etc/cni/net.d/87-podman-bridge.conflist is removed too.
# Prints PASS/FAIL per check; exits non-zero if any failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck disable=SC2034 # read by scripts/lib/common.sh
WAIT_TIMEOUT=10
# shellcheck source=scripts/lib/common.sh
. "$ROOT/scripts/lib/common.sh"

BASE_IMAGE=localhost/debian:bookworm-slim
IMAGE=localhost/ovn-multinet:dev
SUITE=bookworm
# podman run here fails with "error setting rlimits" without these (see ENVIRONMENT notes).
ULIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
PODMAN_CNI_CONF=/etc/cni/net.d/87-podman-bridge.conflist

TEST=1
case "${1:-}" in
  "") ;;
  --no-test) TEST="" ;;
  *) usage ;;
esac
[[ $EUID -eq 0 ]] || die "needs root (podman build, network namespaces)"

TAG="omn-img-$$"
WORK="$(mktemp -d /tmp/omn-img.XXXXXX)"
NODE_NS="$TAG-node"
POD_NS="$TAG-pod"
CONTAINER="$TAG-daemon"
INSTALLED_PODMAN=""
RUNDIR=""
NS_MADE=()
RESULTS=()
FAILED=0
START=$SECONDS

log() { echo "image.sh: $*" >&2; }

# check NAME COMMAND...: runs COMMAND, records PASS or FAIL.
check() {
  local name="$1"
  shift
  if "$@"; then
    RESULTS+=("PASS  $name")
  else
    RESULTS+=("FAIL  $name")
    FAILED=1
  fi
}

# A step that later checks depend on: on failure, record it and stop.
must() {
  local name="$1"
  check "$@"
  ((FAILED == 0)) || die "$name failed"
}

summary() {
  local line
  echo
  echo "=== npm run image: summary ($((SECONDS - START)) s) ==="
  for line in "${RESULTS[@]}"; do echo "$line"; done
  if ((FAILED == 0 && ${#RESULTS[@]} > 0)); then echo "PASS"; else echo "FAIL"; fi
}

cleanup() {
  local rc=$? ns
  trap - EXIT
  set +e
  if command -v podman >/dev/null; then
    podman rm -f -t 5 "$CONTAINER" >/dev/null 2>&1
  fi
  [[ -f "$WORK/ovn/env" ]] && bash scripts/sandbox.sh stop "$WORK/ovn" >/dev/null 2>&1
  for ns in "${NS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
  # debootstrap may leave proc/sys mounted in its target after a failure.
  if [[ -d "$WORK/rootfs" ]]; then
    grep -o " $WORK/rootfs[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  fi
  rm -rf "$WORK"
  [[ -n "$RUNDIR" ]] && rm -rf "$RUNDIR"
  if [[ -n "$INSTALLED_PODMAN" ]]; then rm -f "$PODMAN_CNI_CONF"; fi
  ((rc == 0)) || FAILED=1
  summary
  ((FAILED == 0)) || exit 1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. packages ----------------------------------------------------------------------------
phase_start=$SECONDS
missing=()
command -v podman >/dev/null || { missing+=(podman); INSTALLED_PODMAN=1; }
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/install-deps.sh --no-npm
RESULTS+=("ok    packages ($((SECONDS - phase_start)) s)")

# --- 2. base image --------------------------------------------------------------------------

# The first Debian mirror apt uses for $SUITE: one-line (.list) or deb822 (.sources) entries.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r "$f" ]] || continue
    # deb [options] URI SUITE COMPONENT...
    awk -v suite="$SUITE" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == suite) print $i }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r "$f" ]] || continue
    # Stanzas separated by blank lines; Types must include deb, Suites must include $SUITE.
    awk -v suite="$SUITE" '
      function flush() { if (deb && hit && uris != "") { split(uris, u, " "); print u[1] } deb = hit = 0; uris = "" }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { uris = ""; for (i = 2; i <= NF; i++) uris = uris " " $i }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
      tolower($1) == "enabled:" && tolower($2) == "no" { deb = 0 }
      END { flush() }' "$f"
  done
}

phase_start=$SECONDS
if podman image exists "$BASE_IMAGE"; then
  RESULTS+=("ok    base image $BASE_IMAGE already in podman")
else
  MIRROR="$(debian_mirror | head -n1)"
  [[ -n "$MIRROR" ]] || die "no Debian $SUITE mirror in /etc/apt/sources.list*"
  log "debootstrap --variant=minbase $SUITE from $MIRROR"
  debootstrap --variant=minbase "$SUITE" "$WORK/rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
  # As in the slim images: no package caches or lists, no docs.
  rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/cache/apt/*.bin \
    "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/usr/share/doc/* "$WORK"/rootfs/usr/share/man/* \
    "$WORK"/rootfs/usr/share/info/*
  tar -C "$WORK/rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
  rm -rf "$WORK/rootfs"
  RESULTS+=("ok    base image $BASE_IMAGE from $MIRROR ($((SECONDS - phase_start)) s)")
fi

# --- 3. the image ---------------------------------------------------------------------------
phase_start=$SECONDS
log "podman build -t $IMAGE"
# The CA of a TLS-intercepting proxy for npm ci, as a secret: the pinned ones of the host's bundle.
secret=()
if [[ -n "${OVN_MULTINET_BUILD_CA:-}" ]]; then
  secret=(--secret "id=npm_ca,src=$OVN_MULTINET_BUILD_CA")
else
  CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
  [[ -s "$CA_BUNDLE" ]] && bash scripts/check-ca.sh select "$CA_BUNDLE" >"$WORK/npm_ca.pem"
  [[ -s "$WORK/npm_ca.pem" ]] && secret=(--secret "id=npm_ca,src=$WORK/npm_ca.pem")
fi
if ! podman build --network host "${secret[@]}" --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" . >"$WORK/build.log" 2>&1; then
  tail -n 40 "$WORK/build.log" >&2
  must "podman build" false
fi
SIZE="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
RESULTS+=("PASS  podman build $IMAGE ($((SECONDS - phase_start)) s, $((SIZE / 1000000)) MB)")
[[ -n "$TEST" ]] || exit 0

# --- 4. smoke tests -------------------------------------------------------------------------
# podman run with this machine's ulimits and no network (no bridge, no iptables rules).
prun() { podman run --rm "${ULIMITS[@]}" --network none "$@"; }

# The controller Deployment's pod: non-root, read-only root, no capabilities; the executable
# unpacks its bundle into OVN_MULTINET_ADDON_DIR on the emptyDir /tmp.
controller_check() {
  prun --user 65534 --read-only --cap-drop ALL --security-opt no-new-privileges --tmpfs /tmp \
    -e OVN_MULTINET_ADDON_DIR=/tmp/ovn-multinet --entrypoint /usr/local/bin/ovn-multinetd "$IMAGE" \
    controller --help | grep -q -- '--lease-duration'
}
check "controller starts as in its Deployment (uid 65534, read-only root)" controller_check

version_check() {
  local out
  out="$(prun "$IMAGE" --version)" || return 1
  log "ovn-multinetd --version: $out"
  [[ "$out" == "$(sed -n 's/^  "version": "\(.*\)",$/\1/p' package.json)" ]]
}
check "ovn-multinetd --version in the image" version_check

ldd_check() {
  local out
  out="$(prun --entrypoint ldd "$IMAGE" /usr/local/bin/ovn-multinetd)" || return 1
  ! grep 'not found' <<<"$out"
}
check "ldd: every shared library found in the image" ldd_check

cni_version_check() {
  local out
  out="$(prun -i -e CNI_COMMAND=VERSION --entrypoint /usr/local/bin/ovn-multinet "$IMAGE" <<<'{"cniVersion":"1.0.0","name":"img","type":"ovn-multinet"}')" || return 1
  log "CNI VERSION: $out"
  grep -q '"supportedVersions":\[[^]]*"1.0.0"' <<<"$out"
}
check "CNI VERSION through the image" cni_version_check

# The DaemonSet's init container, with its own command, into a stand-in for /opt/cni/bin.
install_cni() {
  local cmd
  cmd="$(awk -F'"' '/name: install-cni/ { f = 1 } f && /command:/ { print $6; exit }' manifests/daemonset.yaml)"
  [[ -n "$cmd" ]] || { log "no install-cni command in manifests/daemonset.yaml"; return 1; }
  mkdir -p "$WORK/cni-bin"
  prun --cap-drop ALL --security-opt no-new-privileges -v "$WORK/cni-bin:/host/opt/cni/bin" --entrypoint /bin/sh "$IMAGE" -c "$cmd" &&
    [[ -x "$WORK/cni-bin/ovn-multinet" ]] && "$WORK/cni-bin/ovn-multinet" --version >/dev/null
}
must "install-cni (DaemonSet init container) copies the executable out" install_cni

# The node: a network namespace with ovs-vswitchd + ovn-controller in it.
ip netns add "$NODE_NS" && NS_MADE+=("$NODE_NS")
ip -n "$NODE_NS" link set lo up
start_sandbox() { bash scripts/sandbox.sh start "$WORK/ovn" --name "$TAG" --netns "$NODE_NS" >/dev/null; }
must "OVS/OVN sandbox in netns $NODE_NS" start_sandbox
set -a
# shellcheck disable=SC1091
. "$WORK/ovn/env"
set +a

# The daemon as the DaemonSet pod runs it; the sandbox's sockets stand in for the node's
# /var/run/openvswitch (same path inside and out), $RUNDIR (a sub-directory of the host's
# /run/ovn-multinet: the executable connects to nothing else) for the node's /run/ovn-multinet.
# /var/run/netns is mounted rslave, which is what the manifest's mountPropagation:
# HostToContainer gives: the pod netns is made only after the daemon started, so it reaches
# the daemon by propagation, as a runtime's pod netns does.
mkdir -p -m 0700 /run/ovn-multinet
RUNDIR="$(mktemp -d /run/ovn-multinet/img.XXXXXX)"
SOCKET="$RUNDIR/cni.sock"
start_daemon() {
  podman run -d --name "$CONTAINER" "${ULIMITS[@]}" --pid host \
    --cap-drop ALL --cap-add NET_ADMIN,SYS_ADMIN,SYS_PTRACE --security-opt no-new-privileges \
    --network "ns:/var/run/netns/$NODE_NS" \
    -v /var/run/netns:/var/run/netns:rslave \
    -v "$RUNDIR:/run/ovn-multinet" \
    -v "$SANDBOX_DIR:$SANDBOX_DIR" \
    -e "OVN_NB_DB=$NB_DB" \
    "$IMAGE" daemon --socket=/run/ovn-multinet/cni.sock --ovs-db="$OVS_DB" --node-name="$TAG" >/dev/null ||
    return 1
  local deadline=$((SECONDS + 20))
  until podman logs "$CONTAINER" 2>/dev/null | grep -q '"msg":"ovn-multinet daemon listening"'; do
    if ((SECONDS >= deadline)) || [[ "$(podman inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" != true ]]; then
      podman logs "$CONTAINER" 2>&1 | tail -n 20 >&2
      return 1
    fi
    sleep 0.2
  done
  [[ -S "$SOCKET" ]]
}
must "daemon runs from the image (NET_ADMIN, SYS_ADMIN, SYS_PTRACE, hostPID, node netns, /var/run/netns rslave)" start_daemon
ip netns add "$POD_NS" && NS_MADE+=("$POD_NS")

ovn-nbctl ls-add img-net -- set logical_switch img-net other_config:subnet=10.99.0.0/24
CONF="{\"cniVersion\":\"1.0.0\",\"name\":\"img-net\",\"type\":\"ovn-multinet\",\"logicalSwitch\":\"img-net\",\"socket\":\"$SOCKET\"}"
cni() {
  CNI_COMMAND="$1" CNI_CONTAINERID="$TAG" CNI_NETNS="/var/run/netns/$POD_NS" CNI_IFNAME=eth0 \
    CNI_PATH="$WORK/cni-bin" "$WORK/cni-bin/ovn-multinet" <<<"$CONF"
}

add_check() {
  local out addr
  out="$(cni ADD)" || { log "ADD failed: $out"; return 1; }
  log "ADD result: $out"
  addr="$(ip -n "$POD_NS" -4 -o addr show dev eth0 | awk '{ print $4 }')"
  log "pod netns eth0: ${addr:-no address}"
  [[ "$addr" == 10.99.0.* ]] && grep -q "\"address\":\"$addr\"" <<<"$out" &&
    [[ -n "$(ovn-nbctl lsp-list img-net)" ]] && [[ -n "$(ovs-vsctl list-ports br-int)" ]]
}
check "CNI ADD: the pod netns gets an address on img-net" add_check

del_check() {
  local out
  out="$(cni DEL)" || { log "DEL failed: $out"; return 1; }
  [[ -z "$(ip -n "$POD_NS" -o link show dev eth0 2>/dev/null)" ]] &&
    [[ -z "$(ovn-nbctl lsp-list img-net)" ]] && [[ -z "$(ovs-vsctl list-ports br-int)" ]] &&
    [[ -z "$(ip -n "$NODE_NS" -o link show type veth)" ]]
}
check "CNI DEL: no interface, logical switch port, OVS port or veth left" del_check

daemon_errors() {
  ! podman logs "$CONTAINER" 2>&1 | grep -E '"level":(50|60)'
}
check "daemon logged no error" daemon_errors

stop_daemon() {
  podman stop -t 10 "$CONTAINER" >/dev/null && [[ "$(podman inspect -f '{{.State.ExitCode}}' "$CONTAINER")" == 0 ]]
}
check "daemon stops on SIGTERM with exit code 0" stop_daemon
