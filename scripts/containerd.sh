#!/usr/bin/env bash
# A private containerd for tests: root, state and sockets under one directory.
#
#   scripts/containerd.sh start DIR
#   scripts/containerd.sh stop DIR
#   scripts/containerd.sh env DIR     # print DIR/env
#
# start: writes DIR/config.toml (CRI plugin off), starts containerd detached, waits until it
#   answers, then prints DIR/env: CONTAINERD_ADDRESS (the grpc socket) and CONTAINERD_NAMESPACE
#   (ovn-multinet). ctr reads both from the environment, so after `set -a; . DIR/env; set +a`
#   plain `ctr images ls` talks to this containerd; or pass `ctr -a "$CONTAINERD_ADDRESS" -n
#   ovn-multinet ...`. Idempotent: an already running DIR is left alone.
# stop: kills every task of every namespace of this containerd, stops containerd and its shims,
#   unmounts whatever is left under DIR and removes DIR. Succeeds on a DIR already stopped.
#
# ctr run --cni still reads /etc/cni/net.d and /opt/cni/bin; containerd's shims keep their
# sockets under /run/containerd/s whatever the state dir, which is why tests use their own
# namespace name.
set -euo pipefail

NAMESPACE=ovn-multinet
WAIT_TIMEOUT="${CONTAINERD_WAIT_TIMEOUT:-10}"
# shellcheck source=scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

daemon_pid() {
  local pid=""
  [[ -r "$1/containerd.pid" ]] && pid="$(cat "$1/containerd.pid")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1/config.toml"; then
    echo "$pid"
  fi
}

# Pids of the shims this containerd started (they outlive it unless killed). Builtins only:
# a fork per process would make this slow.
shim_pids() {
  local address="$1" p comm args
  for p in /proc/[0-9]*; do
    comm=""
    read -r comm 2>/dev/null <"$p/comm" || continue
    [[ "$comm" == containerd-shim* ]] || continue
    mapfile -d '' -t args 2>/dev/null <"$p/cmdline" || continue
    [[ " ${args[*]} " == *" -address $address "* ]] || continue
    alive "${p#/proc/}" && echo "${p#/proc/}"
  done
  return 0
}

# NAMESPACE/ID of the task a shim serves, from its -namespace and -id arguments.
shim_task() {
  local args ns="" id="" i
  mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" || return 0
  for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    case "${args[i]}" in
      -namespace) ns="${args[i + 1]}" ;;
      -id) id="${args[i + 1]}" ;;
    esac
  done
  [[ -z "$ns" || -z "$id" || "$ns" == */* || "$id" == */* ]] || echo "$ns/$id"
}

# Pids whose parent is one of "$@".
children_of() {
  local p key value
  local -A parents=()
  for p in "$@"; do parents[$p]=1; done
  for p in /proc/[0-9]*; do
    while read -r key value; do
      if [[ "$key" == PPid: ]]; then
        [[ -z "${parents[$value]:-}" ]] || echo "${p#/proc/}"
        break
      fi
    done 2>/dev/null <"$p/status" || true
  done
}

cmd_start() {
  local dir="${1:-}"
  [[ -n "$dir" && $# -eq 1 ]] || usage
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd -P)"
  local sock="$dir/containerd.sock"
  ((${#sock} < 100)) || die "DIR path too long for a unix socket: $dir"
  if [[ -n "$(daemon_pid "$dir")" && -r "$dir/env" ]]; then
    echo "containerd.sh: already running in $dir" >&2
    cat "$dir/env"
    return 0
  fi
  [[ ! -e "$dir/containerd.pid" ]] || cmd_stop "$dir" --keep-dir

  mkdir -p "$dir/root" "$dir/state" "$dir/opt"
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF

  # Own session, no terminal, nothing inherited on stdout: callers capturing our output
  # must not wait for containerd to exit.
  setsid containerd --config "$dir/config.toml" </dev/null >"$dir/containerd.log" 2>&1 &
  echo "$!" >"$dir/containerd.pid"
  local pid=$!

  local deadline=$((SECONDS + WAIT_TIMEOUT))
  until [[ -S "$sock" ]] && ctr --address "$sock" version >/dev/null 2>&1; do
    if ! alive "$pid" || ((SECONDS >= deadline)); then
      tail -n 20 "$dir/containerd.log" >&2 || true
      cmd_stop "$dir" --keep-dir
      die "containerd did not start"
    fi
    sleep 0.02
  done

  {
    echo "CONTAINERD_DIR=$dir"
    echo "CONTAINERD_ADDRESS=$sock"
    echo "CONTAINERD_NAMESPACE=$NAMESPACE"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  cat "$dir/env"
}

cmd_stop() {
  local dir="${1:-}" keep_dir="${2:-}"
  [[ -n "$dir" ]] || usage
  [[ -d "$dir" ]] || return 0
  dir="$(cd "$dir" && pwd -P)"
  local sock="$dir/containerd.sock" pid ns id
  pid="$(daemon_pid "$dir")"

  if [[ -n "$pid" ]]; then
    # Kill every task (their shims then exit), in every namespace of this containerd.
    local c=(ctr --address "$sock" --timeout 5s)
    for ns in $("${c[@]}" namespaces ls -q 2>/dev/null || true); do
      # tasks delete -f kills (SIGKILL) and waits; one ctr per task, all at once.
      for id in $("${c[@]}" -n "$ns" tasks ls -q 2>/dev/null || true); do
        "${c[@]}" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 &
      done
      wait
      for id in $("${c[@]}" -n "$ns" containers ls -q 2>/dev/null || true); do
        "${c[@]}" -n "$ns" containers delete "$id" >/dev/null 2>&1 &
      done
      wait
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid"
  fi

  # Shims left behind (containerd crashed or ignored us): kill their containers' init
  # processes first (children of the shim; killing only the shim would orphan them).
  local shims kids tasks=() shim task
  mapfile -t shims < <(shim_pids "$sock")
  if ((${#shims[@]})); then
    for shim in "${shims[@]}"; do
      task="$(shim_task "$shim")"
      [[ -z "$task" ]] || tasks+=("$task")
    done
    mapfile -t kids < <(children_of "${shims[@]}")
    if ((${#kids[@]})); then
      kill -KILL "${kids[@]}" 2>/dev/null || true
      wait_gone "${kids[@]}"
    fi
    kill -KILL "${shims[@]}" 2>/dev/null || true
    wait_gone "${shims[@]}"
    # runc's state of those containers, which only a live shim would have removed.
    # and the shim's socket, /run/containerd/s/sha256(ADDRESS/NAMESPACE/ID) in containerd 1.6.
    local hash
    for task in "${tasks[@]}"; do
      runc --root "/run/containerd/runc/${task%%/*}" delete --force "${task#*/}" >/dev/null 2>&1 || true
      hash="$(printf '%s' "$sock/$task" | sha256sum)"
      rm -f "/run/containerd/s/${hash%% *}"
    done
  fi

  # Rootfs and shm mounts of killed tasks, deepest first.
  local mounts=() mp
  while read -r _ _ _ _ mp _; do
    mp="$(printf '%b' "$mp")"
    [[ "$mp" == "$dir"/* ]] && mounts+=("$mp")
  done </proc/self/mountinfo
  if ((${#mounts[@]})); then
    printf '%s\n' "${mounts[@]}" | sort -r | while IFS= read -r mp; do
      umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
    done
  fi

  # runc's state root for our namespace, shared with any other containerd using it.
  rmdir "/run/containerd/runc/$NAMESPACE" 2>/dev/null || true

  if [[ "$keep_dir" == --keep-dir ]]; then
    rm -rf "$dir/root" "$dir/state" "$dir/opt" "$dir/env" "$dir/containerd.pid"
  else
    rm -rf "$dir"
  fi
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
    env)
      [[ $# -eq 1 && -r "$1/env" ]] || die "no env in ${1:-DIR}"
      cat "$1/env"
      ;;
    *) usage ;;
  esac
}

main "$@"
