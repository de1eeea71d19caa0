#!/usr/bin/env bash
# A self-contained OVS + OVN "node" in one directory, userspace (netdev) datapath, for tests.
#
#   scripts/sandbox.sh start DIR [--name NODE] [--encap-ip IP] [--nb-tcp PORT] [--sb-tcp PORT]
#                                [--netns NS] [--sb-db REMOTE] [--nb-db REMOTES]
#   scripts/sandbox.sh stop DIR
#   scripts/sandbox.sh env DIR        # print DIR/env
#   scripts/sandbox.sh db-stop DIR nb|ovs   # stop the NB or the Open_vSwitch ovsdb-server (faults)
#   scripts/sandbox.sh db-start DIR nb|ovs  # start it again on the same file and sockets
#
# start: creates DIR, starts ovsdb-server (Open_vSwitch), ovs-vswitchd, the OVN NB and SB
#   ovsdb-servers, ovn-northd and ovn-controller, all with their sockets, pid files, logs and
#   databases under DIR (nothing touches /var/run/openvswitch or /var/run/ovn). It returns once
#   br-int exists and ovn-controller has registered its Chassis row in the SB database, then
#   prints DIR/env (KEY=VALUE lines, shell-sourceable).
#   --name NODE      system-id / chassis name (default: ovn-multinet-<basename DIR>)
#   --encap-ip IP    ovn-encap-ip (default 127.0.0.1)
#   --nb-tcp PORT    also serve NB on tcp:127.0.0.1:PORT (SB likewise with --sb-tcp)
#   --netns NS       run ovs-vswitchd and ovn-controller inside the existing network namespace
#                    NS (the two-node recipe): br-int, its taps and the ports it can take live
#                    there. The ovsdb-servers stay here (unix sockets work from any netns; the
#                    tcp listeners are on this namespace's 127.0.0.1). Default: the current
#                    namespace.
#   --sb-db REMOTE   join an existing SB (another sandbox's SB_DB) as a second chassis: no NB,
#                    SB or northd are started here.
#   --nb-db REMOTES  use an existing NB (e.g. a raft cluster: unix:a,unix:b,unix:c) instead of
#                    starting one; SB, northd and ovn-controller are started as usual.
#   Two netdev ovs-vswitchd cannot share a network namespace (both create the taps ovs-netdev
#   and br-int), so start waits, under a lock, until no other ovs-vswitchd runs in the target
#   namespace (SANDBOX_NETNS_WAIT seconds, default 120). Sandboxes that must run side by side
#   each need their own --netns. SANDBOX_WAIT_TIMEOUT (default 10) bounds every other wait.
# stop: asks every daemon to exit (ovs-vswitchd with --cleanup, so its taps go), waits until
#   they are gone, removes leftover taps and DIR. Succeeds on a DIR that is already stopped.
set -Eeuo pipefail

OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
NB_SCHEMA=/usr/share/ovn/ovn-nb.ovsschema
SB_SCHEMA=/usr/share/ovn/ovn-sb.ovsschema
BRIDGE=br-int
WAIT_TIMEOUT="${SANDBOX_WAIT_TIMEOUT:-10}"
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# How long start waits for another sandbox's ovs-vswitchd to leave the same network namespace.
NS_WAIT="${SANDBOX_NETNS_WAIT:-120}"

# Prints the pid in pidfile $1 if that process still runs (not a zombie) and is the daemon
# that wrote it (its command line names the pid file: a reused pid is left alone).
live_pid() {
  local pidfile="$1" pid state args
  [[ -r "$pidfile" ]] || return 0
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  state="$(proc_state "$pid")"
  [[ -n "$state" && "$state" != Z ]] || return 0
  mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || return 0
  if [[ " ${args[*]} " == *"--pidfile=$pidfile "* ]]; then
    echo "$pid"
  fi
}

# Runs "$@" inside $NETNS when one is set.
in_ns() {
  if [[ -n "${NETNS:-}" ]]; then
    ip netns exec "$NETNS" "$@"
  else
    "$@"
  fi
}

write_env() {
  local dir="$1"
  {
    echo "SANDBOX_DIR=$dir"
    echo "SANDBOX_NAME=$NAME"
    echo "SANDBOX_ENCAP_IP=$ENCAP_IP"
    echo "SANDBOX_NETNS=${NETNS:-}"
    echo "SANDBOX_BRIDGE=$BRIDGE"
    echo "OVS_DB=unix:$dir/ovs/db.sock"
    echo "NB_DB=$NB_DB"
    echo "SB_DB=$SB_DB"
    echo "NB_TCP=${NB_TCP:-}"
    echo "SB_TCP=${SB_TCP:-}"
    # The OVS/OVN tools read these: plain ovs-vsctl, ovn-nbctl and ovn-sbctl reach this
    # sandbox once DIR/env is sourced and exported (set -a; . DIR/env; set +a). Daemon
    # control sockets: ovs-appctl -t "$OVS_VSWITCHD_CTL" / "$OVN_NORTHD_CTL".
    echo "OVN_NB_DB=$NB_DB"
    echo "OVN_SB_DB=$SB_DB"
    echo "OVS_RUNDIR=$dir/ovs"
    echo "OVS_DBDIR=$dir/ovs"
    echo "OVS_LOGDIR=$dir/ovs"
    echo "OVS_SYSCONFDIR=$dir/ovs"
    echo "OVN_RUNDIR=$dir/ovn"
    echo "OVN_DBDIR=$dir/ovn"
    echo "OVN_LOGDIR=$dir/ovn"
    echo "OVN_SYSCONFDIR=$dir/ovn"
    echo "OVS_VSWITCHD_CTL=$dir/ovs/ovs-vswitchd.ctl"
    echo "OVN_NORTHD_CTL=$dir/ovn/ovn-northd.ctl"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
}

# The NB ovsdb-server of DIR/ovn, with the remotes recorded at the first start.
start_nb() {
  local ovn="$1" remotes=()
  mapfile -t remotes <"$ovn/ovnnb_db.remotes"
  ovsdb-server "$ovn/ovnnb_db.db" "${remotes[@]}" --detach --no-chdir -vconsole:err \
    --pidfile="$ovn/ovnnb_db.pid" --log-file="$ovn/ovsdb-server-nb.log" \
    --unixctl="$ovn/ovnnb_db.ctl"
}

# The Open_vSwitch ovsdb-server of DIR/ovs.
start_ovs_db() {
  local ovs="$1"
  ovsdb-server "$ovs/conf.db" --remote="punix:$ovs/db.sock" --detach --no-chdir -vconsole:err \
    --pidfile="$ovs/ovsdb-server.pid" --log-file="$ovs/ovsdb-server.log" \
    --unixctl="$ovs/ovsdb-server.ctl"
}

# db-stop DIR nb|ovs: stops one database server (fault injection); db-start brings it back
# on the same database file and sockets.
cmd_db() {
  local action="$1" dir="${2:-}" which="${3:-}" pidfile ctl pid
  [[ -d "$dir" && ( "$which" == nb || "$which" == ovs ) ]] || usage
  dir="$(cd "$dir" && pwd -P)"
  if [[ "$which" == nb ]]; then
    pidfile="$dir/ovn/ovnnb_db.pid" ctl="$dir/ovn/ovnnb_db.ctl"
  else
    pidfile="$dir/ovs/ovsdb-server.pid" ctl="$dir/ovs/ovsdb-server.ctl"
  fi
  pid="$(live_pid "$pidfile")"
  if [[ "$action" == stop ]]; then
    [[ -n "$pid" ]] || return 0
    ovs-appctl -t "$ctl" exit >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid"
  else
    [[ -z "$pid" ]] || return 0
    if [[ "$which" == nb ]]; then start_nb "$dir/ovn"; else start_ovs_db "$dir/ovs"; fi
  fi
}

cmd_start() {
  local dir="" arg
  NAME="" ENCAP_IP=127.0.0.1 NB_TCP="" SB_TCP="" NETNS="" SB_DB="" NB_DB=""
  local nb_port="" sb_port="" join_sb="" external_nb=""
  while (($#)); do
    arg="$1"
    shift
    case "$arg" in
      --name) NAME="${1:?--name needs a value}"; shift ;;
      --encap-ip) ENCAP_IP="${1:?--encap-ip needs a value}"; shift ;;
      --nb-tcp) nb_port="${1:?--nb-tcp needs a port}"; shift ;;
      --sb-tcp) sb_port="${1:?--sb-tcp needs a port}"; shift ;;
      --netns) NETNS="${1:?--netns needs a name}"; shift ;;
      --sb-db) join_sb="${1:?--sb-db needs a remote}"; shift ;;
      --nb-db) external_nb="${1:?--nb-db needs remotes}"; shift ;;
      -h | --help) usage ;;
      -*) die "unknown option $arg" ;;
      *)
        [[ -z "$dir" ]] || die "one DIR only"
        dir="$arg"
        ;;
    esac
  done
  [[ -n "$dir" ]] || usage
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  [[ -n "$NAME" ]] || NAME="ovn-multinet-$(basename "$dir")"
  if [[ -n "$NETNS" ]]; then
    [[ -e "/var/run/netns/$NETNS" ]] || die "netns $NETNS does not exist"
  fi

  local ovs="$dir/ovs" ovn="$dir/ovn"
  # Unix socket paths are limited to 107 bytes.
  ((${#ovn} + 20 < 108)) || die "DIR path too long for unix sockets: $dir"

  if [[ -e "$dir/env" ]] && all_running "$dir"; then
    echo "sandbox.sh: already running in $dir" >&2
    cat "$dir/env"
    return 0
  fi
  # Half-started leftovers from an earlier failed run.
  if [[ -d "$ovs" || -d "$ovn" ]]; then
    cmd_stop "$dir" --keep-dir
  fi
  mkdir -p "$ovs" "$ovn"
  START_DIR="$dir" START_OK=""
  trap start_exit EXIT
  trap 'exit 130' INT TERM

  export OVS_RUNDIR="$ovs" OVS_DBDIR="$ovs" OVS_LOGDIR="$ovs" OVS_SYSCONFDIR="$ovs"
  export OVN_RUNDIR="$ovn" OVN_DBDIR="$ovn" OVN_LOGDIR="$ovn" OVN_SYSCONFDIR="$ovn"
  local common=(--detach --no-chdir -vconsole:err) bg=() pid

  if [[ -z "$join_sb" ]]; then
    NB_DB="unix:$ovn/ovnnb_db.sock"
    SB_DB="unix:$ovn/ovnsb_db.sock"
    local nb_remotes=(--remote="punix:$ovn/ovnnb_db.sock") sb_remotes=(--remote="punix:$ovn/ovnsb_db.sock")
    if [[ -n "$nb_port" ]]; then
      NB_TCP="tcp:127.0.0.1:$nb_port"
      nb_remotes+=(--remote="ptcp:$nb_port:127.0.0.1")
    fi
    if [[ -n "$sb_port" ]]; then
      SB_TCP="tcp:127.0.0.1:$sb_port"
      sb_remotes+=(--remote="ptcp:$sb_port:127.0.0.1")
    fi
    ovsdb-tool create "$ovn/ovnsb_db.db" "$SB_SCHEMA"
    if [[ -n "$external_nb" ]]; then
      NB_DB="$external_nb"
    else
      ovsdb-tool create "$ovn/ovnnb_db.db" "$NB_SCHEMA"
      printf '%s\n' "${nb_remotes[@]}" >"$ovn/ovnnb_db.remotes"
      start_nb "$ovn" &
      bg+=($!)
    fi
    ovsdb-server "$ovn/ovnsb_db.db" "${sb_remotes[@]}" "${common[@]}" \
      --pidfile="$ovn/ovnsb_db.pid" --log-file="$ovn/ovsdb-server-sb.log" \
      --unixctl="$ovn/ovnsb_db.ctl" &
    bg+=($!)
  else
    NB_DB=""
    SB_DB="$join_sb"
  fi

  ovsdb-tool create "$ovs/conf.db" "$OVS_SCHEMA"
  start_ovs_db "$ovs"
  # Everything ovn-controller needs, and br-int itself, before ovs-vswitchd starts.
  ovs-vsctl --db="unix:$ovs/db.sock" --no-wait \
    -- init \
    -- set Open_vSwitch . \
    external_ids:system-id="$NAME" \
    external_ids:hostname="$NAME" \
    external_ids:ovn-remote="$SB_DB" \
    external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip="$ENCAP_IP" \
    external_ids:ovn-bridge="$BRIDGE" \
    external_ids:ovn-bridge-datapath-type=netdev \
    -- add-br "$BRIDGE" \
    -- set Bridge "$BRIDGE" datapath_type=netdev fail_mode=secure \
    other_config:disable-in-band=true
  # Two ovs-vswitchd (netdev) cannot share a network namespace: both want the taps
  # ovs-netdev and br-int. Wait for the other one to leave; the lock covers check and start.
  ns_lock_and_wait "$ovs"
  in_ns ovs-vswitchd "unix:$ovs/db.sock" "${common[@]}" \
    --pidfile="$ovs/ovs-vswitchd.pid" --log-file="$ovs/ovs-vswitchd.log" \
    --unixctl="$ovs/ovs-vswitchd.ctl" {NS_LOCK_FD}>&- &
  bg+=($!)

  # The NB/SB ovsdb-servers and ovs-vswitchd have detached once these return.
  for pid in "${bg[@]}"; do wait "$pid"; done
  if [[ -z "$join_sb" ]]; then
    ovn-northd --ovnnb-db="$NB_DB" --ovnsb-db="$SB_DB" "${common[@]}" \
      --pidfile="$ovn/ovn-northd.pid" --log-file="$ovn/ovn-northd.log" \
      --unixctl="$ovn/ovn-northd.ctl" {NS_LOCK_FD}>&-
    # ovn-controller 23.03 sometimes segfaults in its first recompute when northd fills the
    # SB at the same moment (about 1 start in 5 here): let northd finish first.
    ovn-nbctl --db="$NB_DB" --timeout="$WAIT_TIMEOUT" --wait=sb sync
  fi
  ovs-vsctl --db="unix:$ovs/db.sock" --timeout="$WAIT_TIMEOUT" wait-until Interface "$BRIDGE" 'ofport>0' >/dev/null
  # The taps exist now: a later start in this namespace sees our ovs-vswitchd and waits.
  exec {NS_LOCK_FD}>&-

  # ovn-controller 23.03 rejects --unixctl: its socket is $ovn/ovn-controller.<pid>.ctl.
  in_ns ovn-controller "unix:$ovs/db.sock" "${common[@]}" \
    --pidfile="$ovn/ovn-controller.pid" --log-file="$ovn/ovn-controller.log"
  write_env "$dir"
  # A joined SB may not be listening yet: ovn-sbctl gives up at once on a refused connection.
  local deadline=$((SECONDS + WAIT_TIMEOUT))
  until ovn-sbctl --db="$SB_DB" --timeout="$WAIT_TIMEOUT" wait-until Chassis "$NAME" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "ovn-controller did not register chassis $NAME in $SB_DB"
    sleep 0.05
  done
  START_OK=1
  cat "$dir/env"
}

# EXIT trap of start: on any failure, show the logs and stop what was started.
start_exit() {
  local rc=$? log
  trap - EXIT INT TERM
  [[ -z "$START_OK" ]] || return 0
  set +e
  trap '' PIPE # a closed stderr must not cut the cleanup short
  echo "sandbox.sh: start failed in $START_DIR; last log lines:" >&2
  for log in "$START_DIR"/ovs/*.log "$START_DIR"/ovn/*.log; do
    [[ -r "$log" ]] || continue
    echo "== $log" >&2
    tail -n 5 "$log" >&2 || true
  done
  cmd_stop "$START_DIR" --keep-dir >/dev/null 2>&1 || true
  ((rc != 0)) || rc=1
  exit "$rc"
}

# Takes the start lock (fd NS_LOCK_FD) at a moment when no other ovs-vswitchd runs in the
# namespace ovs-vswitchd will run in. One lock file for the machine, held only from that
# check until our taps exist (~0.1 s), never while waiting.
ns_lock_and_wait() {
  local own="$1" lockfile="${TMPDIR:-/tmp}/ovn-multinet-sandbox.lock" deadline said=""
  deadline=$((SECONDS + NS_WAIT))
  exec {NS_LOCK_FD}>>"$lockfile"
  while :; do
    flock -w "$NS_WAIT" "$NS_LOCK_FD" || die "timed out waiting for $lockfile"
    other_vswitchd_in_ns "$own" || return 0
    flock -u "$NS_LOCK_FD"
    ((SECONDS < deadline)) ||
      die "another ovs-vswitchd runs in this network namespace (${NETNS:-current}); give each sandbox its own with --netns NS"
    if [[ -z "$said" ]]; then
      echo "sandbox.sh: waiting up to ${NS_WAIT}s for another ovs-vswitchd in network namespace ${NETNS:-current} to exit (--netns NS avoids this)" >&2
      said=1
    fi
    sleep 0.1
  done
}

# The net namespace ovs-vswitchd runs in, as readlink shows it: net:[INODE].
ns_link() {
  if [[ -n "${NETNS:-}" ]]; then
    ip netns exec "$NETNS" readlink /proc/self/ns/net
  else
    readlink /proc/self/ns/net
  fi
}

# True if every daemon of the sandbox in $1 runs.
all_running() {
  local dir="$1" f
  local files=(ovs/ovsdb-server ovs/ovs-vswitchd ovn/ovn-controller)
  [[ -z "$(env_get "$dir/env" NB_DB)" ]] || files+=(ovn/ovnnb_db ovn/ovnsb_db ovn/ovn-northd)
  for f in "${files[@]}"; do
    [[ -n "$(live_pid "$dir/$f.pid")" ]] || return 1
  done
}

# Reads one KEY from DIR/env (empty if missing).
env_get() {
  local file="$1" key="$2" line
  [[ -r "$file" ]] || return 0
  while IFS= read -r line; do
    if [[ "$line" == "$key="* ]]; then
      echo "${line#*=}"
      return 0
    fi
  done <"$file"
}

cmd_stop() {
  local dir="${1:-}" keep_dir="${2:-}"
  [[ -n "$dir" ]] || usage
  [[ -d "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd -P)"
  local ovs="$dir/ovs" ovn="$dir/ovn"
  NETNS="$(env_get "$dir/env" SANDBOX_NETNS)"
  local bridge
  bridge="$(env_get "$dir/env" SANDBOX_BRIDGE)"
  bridge="${bridge:-$BRIDGE}"

  local pids=() pid ctl vswitchd_pid
  vswitchd_pid="$(live_pid "$ovs/ovs-vswitchd.pid")"
  pid="$(live_pid "$ovn/ovn-controller.pid")"
  if [[ -n "$pid" ]]; then
    pids+=("$pid")
    # Plain "exit" would remove the Chassis and flows first; for a throwaway sandbox a quick
    # exit is what we want (the whole SB goes away with it).
    ovs-appctl -t "$ovn/ovn-controller.$pid.ctl" exit --restart >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  fi
  if [[ -n "$vswitchd_pid" ]]; then
    pids+=("$vswitchd_pid")
    ovs-appctl -t "$ovs/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || kill -TERM "$vswitchd_pid" 2>/dev/null || true &
  fi
  for ctl in ovn/ovn-northd ovn/ovnnb_db ovn/ovnsb_db; do
    pid="$(live_pid "$dir/$ctl.pid")"
    if [[ -n "$pid" ]]; then
      pids+=("$pid")
      ovs-appctl -t "$dir/$ctl.ctl" exit >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true &
    fi
  done
  wait
  # The Open_vSwitch ovsdb-server goes last: ovs-vswitchd needs it to clean up.
  if [[ -n "$vswitchd_pid" ]]; then
    wait_gone "$vswitchd_pid"
  fi
  pid="$(live_pid "$ovs/ovsdb-server.pid")"
  if [[ -n "$pid" ]]; then
    pids+=("$pid")
    ovs-appctl -t "$ovs/ovsdb-server.ctl" exit >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  fi
  if ((${#pids[@]})); then
    wait_gone "${pids[@]}"
  fi

  # Taps a crashed or killed ovs-vswitchd leaves behind. Only when no other ovs-vswitchd
  # shares this namespace: another sandbox there may own taps of the same names.
  if [[ -z "$NETNS" || -e "/var/run/netns/$NETNS" ]] && [[ -d "$ovs" ]]; then
    local tap
    for tap in ovs-netdev "$bridge"; do
      if is_tun "$tap" && ! other_vswitchd_in_ns "$ovs"; then
        in_ns ip link del dev "$tap" 2>/dev/null || true
      fi
    done
  fi

  if [[ "$keep_dir" == --keep-dir ]]; then
    rm -rf "$ovs" "$ovn" "$dir/env"
  else
    rm -rf "$dir"
  fi
}

# True if $1 is a tun/tap device in the sandbox namespace (never delete a real bridge or veth).
is_tun() {
  in_ns ip -d link show dev "$1" 2>/dev/null | grep -q ' tun '
}

# True if another live ovs-vswitchd runs in the same network namespace as this sandbox would.
# Bash builtins only: a fork per process would make this slow.
other_vswitchd_in_ns() {
  local own_rundir="$1" ns p comm link cmdline
  ns="$(ns_link)"
  for p in /proc/[0-9]*; do
    comm=""
    read -r comm 2>/dev/null <"$p/comm" || continue
    [[ "$comm" == ovs-vswitchd ]] || continue
    [[ "$(proc_state "${p#/proc/}")" != Z ]] || continue
    link="$(readlink "$p/ns/net" 2>/dev/null || true)"
    [[ "$link" == "$ns" ]] || continue
    cmdline="$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null || true)"
    # Ours is gone by now; any other one counts.
    [[ "$cmdline" == *"$own_rundir/"* ]] || return 0
  done
  return 1
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop)
      [[ $# -eq 1 ]] || usage
      cmd_stop "$1"
      ;;
    db-stop | db-start) cmd_db "${cmd#db-}" "$@" ;;
    env)
      [[ $# -eq 1 && -r "$1/env" ]] || die "no env in ${1:-DIR}"
      cat "$1/env"
      ;;
    *) usage ;;
  esac
}

main "$@"
