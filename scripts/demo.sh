#!/usr/bin/env bash
# npm run demo: the Kubetron demo on one machine, as root, from a fresh Debian 12.
#
#   1. An admin creates two networks in OVN with ovn-nbctl: red (10.1.0.0/24), blue (10.2.0.0/24).
#   2. containerd starts two busybox containers with `ctr run --cni`: containerd's libcni runs
#      ovn-multinet for the first network in /etc/cni/net.d (red, eth0).
#   3. Each container also joins blue as net1: the runtime's second CNI call, as Multus makes
#      one per extra network, against the container's netns.
#   4. Each container shows `ip address`; they ping each other on both networks.
#   5. Everything is torn down (DEL through the runtime for eth0, by the plugin for net1) and
#      the demo checks that no logical switch port, OVS port, veth or process is left.
# Set-up it does itself: apt packages and node_modules (scripts/install-deps.sh), the build,
# OVS/OVN in the userspace datapath (scripts/sandbox.sh), containerd (scripts/containerd.sh), a
# local busybox image (scripts/busybox-image.sh) and the ovn-multinet daemon.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

((EUID == 0)) || { echo "demo: run as root (it configures OVS, netns and containerd)" >&2; exit 1; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "Set-up: dependencies and build"
bash scripts/install-deps.sh
export PATH="$ROOT/node_modules/.bin:$PATH"
[[ -x dist/ovn-multinet && -x dist/ovn-multinetd ]] || node scripts/build.ts

WORK=$(mktemp -d /tmp/ovn-multinet-demo.XXXXXX)
CNI_CONF=/etc/cni/net.d/00-ovn-multinet-demo-red.conflist
CNI_BIN=/opt/cni/bin/ovn-multinet
# The executable connects only to sockets under /run/ovn-multinet/ (docs/security.md).
mkdir -p -m 0700 /run/ovn-multinet
RUNDIR=$(mktemp -d /run/ovn-multinet/demo.XXXXXX)
SOCKET="$RUNDIR/run/cni.sock"
DAEMON_PID=
CTR_PIDS=()
BACKUP_BIN=

cleanup() {
  set +e
  for pid in "${CTR_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  [[ -n "$DAEMON_PID" ]] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
  [[ -f "$WORK/containerd/env" ]] && bash scripts/containerd.sh stop "$WORK/containerd" >/dev/null
  [[ -f "$WORK/ovn/env" ]] && bash scripts/sandbox.sh stop "$WORK/ovn" >/dev/null
  rm -f "$CNI_CONF"
  if [[ -n "$BACKUP_BIN" ]]; then mv -f "$BACKUP_BIN" "$CNI_BIN"; else rm -f "$CNI_BIN"; fi
  rm -rf "$WORK" "$RUNDIR"
}
trap cleanup EXIT

say "Set-up: OVS + OVN (userspace datapath), containerd, busybox image"
bash scripts/sandbox.sh start "$WORK/ovn" --name demo-node >/dev/null
set -a; . "$WORK/ovn/env"; set +a
bash scripts/containerd.sh start "$WORK/containerd" >/dev/null
set -a; . "$WORK/containerd/env"; set +a
bash scripts/busybox-image.sh "$CONTAINERD_ADDRESS" --no-check >/dev/null
ctr() { command ctr -a "$CONTAINERD_ADDRESS" -n "$CONTAINERD_NAMESPACE" "$@"; }

say "Set-up: the ovn-multinet daemon"
dist/ovn-multinetd daemon --socket "$SOCKET" --ovs-db "$OVS_DB" --nb-db "$NB_DB" --node-name demo-node --metrics-port 0 \
  >"$WORK/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do [[ -S "$SOCKET" ]] && break; sleep 0.05; done
[[ -S "$SOCKET" ]] || { cat "$WORK/daemon.log" >&2; exit 1; }

say "The admin creates networks red and blue in OVN"
run ovn-nbctl --db="$NB_DB" ls-add red -- set logical_switch red other_config:subnet=10.1.0.0/24
run ovn-nbctl --db="$NB_DB" ls-add blue -- set logical_switch blue other_config:subnet=10.2.0.0/24 \
  other_config:exclude_ips=10.2.0.2..10.2.0.9

say "The runtime's CNI configuration: ovn-multinet for red"
mkdir -p /etc/cni/net.d /opt/cni/bin
if [[ -e "$CNI_BIN" ]]; then BACKUP_BIN="$WORK/ovn-multinet.orig"; cp -a "$CNI_BIN" "$BACKUP_BIN"; fi
cp dist/ovn-multinet "$CNI_BIN.tmp" && mv -f "$CNI_BIN.tmp" "$CNI_BIN"
cat >"$CNI_CONF" <<JSON
{ "cniVersion": "1.0.0", "name": "red",
  "plugins": [ { "type": "ovn-multinet", "logicalSwitch": "red", "socket": "$SOCKET", "mtu": 1400 } ] }
JSON
cat "$CNI_CONF"
BLUE="{\"cniVersion\":\"1.1.0\",\"name\":\"blue\",\"type\":\"ovn-multinet\",\"socket\":\"$SOCKET\"}"

# cni COMMAND CONTAINER NETNS: the plugin call a runtime (or Multus) makes for blue as net1.
cni_blue() {
  CNI_COMMAND="$1" CNI_CONTAINERID="$CONTAINERD_NAMESPACE-$2" CNI_NETNS="$3" CNI_IFNAME=net1 \
    CNI_PATH=/opt/cni/bin "$CNI_BIN" <<<"$BLUE"
}

task_pid() { ctr task ls | awk -v id="$1" '$1 == id && $3 == "RUNNING" { print $2 }'; }

for c in demo-a demo-b; do
  say "containerd starts $c (ctr run --cni: eth0 on red)"
  printf '$ ctr run --rm --cni localhost/busybox:latest %s sleep 3600 &\n' "$c"
  ctr run --rm --cni localhost/busybox:latest "$c" sleep 3600 &
  CTR_PIDS+=($!)
  pid=
  for _ in $(seq 200); do pid=$(task_pid "$c"); [[ -n "$pid" ]] && break; sleep 0.05; done
  [[ -n "$pid" ]] || { echo "demo: $c did not start" >&2; exit 1; }
  say "$c joins blue as net1 (a second CNI ADD against /proc/$pid/ns/net)"
  cni_blue ADD "$c" "/proc/$pid/ns/net"
  echo
done

ip_of() { ctr task exec --exec-id "ip-$1-$2" "$1" ip -4 -o addr show "$2" | awk '{ print $4 }' | cut -d/ -f1; }
for c in demo-a demo-b; do
  say "$c: ip address"
  ctr task exec --exec-id "show-$c" "$c" ip address
done

say "demo-a pings demo-b on red and on blue"
B_RED=$(ip_of demo-b eth0)
B_BLUE=$(ip_of demo-b net1)
run ctr task exec --exec-id ping-red demo-a ping -c 3 -W 2 "$B_RED"
run ctr task exec --exec-id ping-blue demo-a ping -c 3 -W 2 "$B_BLUE"
say "demo-b pings demo-a on red and on blue"
run ctr task exec --exec-id ping-red demo-b ping -c 3 -W 2 "$(ip_of demo-a eth0)"
run ctr task exec --exec-id ping-blue demo-b ping -c 3 -W 2 "$(ip_of demo-a net1)"

say "What OVN sees"
run ovn-nbctl --db="$NB_DB" show

say "Tear-down: DEL for net1, then stop the containers (ctr run --rm sends DEL for eth0)"
for c in demo-a demo-b; do
  cni_blue DEL "$c" "/proc/$(task_pid "$c")/ns/net"
  ctr task kill -s SIGKILL "$c"
done
for pid in "${CTR_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
CTR_PIDS=()

say "Nothing left behind"
left=0
for sw in red blue; do
  ports=$(ovn-nbctl --db="$NB_DB" lsp-list "$sw")
  [[ -z "$ports" ]] || { echo "left on $sw: $ports"; left=1; }
done
ovs_ports=$(ovs-vsctl --db="$OVS_DB" list-ports br-int)
[[ -z "$ovs_ports" ]] || { echo "left on br-int: $ovs_ports"; left=1; }
veths=$(ip -o link show | awk -F': ' '{ print $2 }' | grep '^omn' || true)
[[ -z "$veths" ]] || { echo "left veths: $veths"; left=1; }
((left == 0)) && echo "no logical switch port, no OVS port, no veth left"
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=
exit "$left"
