#!/usr/bin/env bash
# Builds a busybox container image from the host's busybox-static, without any registry, and
# imports it into containerd.
#
#   scripts/busybox-image.sh ADDRESS [--save FILE] [--force] [--no-check]
#
# ADDRESS   containerd grpc socket (CONTAINERD_ADDRESS from scripts/containerd.sh)
# --save F  also keep the docker-archive tar as F (podman load / ctr import can read it)
# --force   re-import even if the image is already there
# --no-check skip the `ctr run --rm` smoke test
# Env: IMAGE (default localhost/busybox:latest), CONTAINERD_NAMESPACE (default ovn-multinet).
#
# The image: /bin/busybox plus a symlink per applet in /bin (sh, ip, ping, nc, sleep, cat, ...),
# /usr/bin/busybox -> /bin/busybox (the applet links' target on merged-/usr hosts),
# /etc/passwd, /etc/group, /etc/hosts, empty /proc /sys /dev /tmp /run /var/run, Cmd ["sh"].
# The tar is deterministic (sorted, mtime 0, uid 0), so the same busybox gives the same digest.
set -euo pipefail

IMAGE="${IMAGE:-localhost/busybox:latest}"
NAMESPACE="${CONTAINERD_NAMESPACE:-ovn-multinet}"
BUSYBOX=/bin/busybox

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() {
  echo "busybox-image.sh: $*" >&2
  exit 1
}

sha256() {
  local sum
  sum="$(sha256sum "$1")"
  echo "${sum%% *}"
}

# Deterministic tar of directory $1 into file $2.
det_tar() {
  tar -C "$1" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    -cf "$2" .
}

build_archive() {
  local out="$1" work rootfs target
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" RETURN
  rootfs="$work/rootfs"
  mkdir -p "$rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var,usr/bin,usr/sbin}
  chmod 1777 "$rootfs/tmp"
  ln -s ../run "$rootfs/var/run"
  cp "$BUSYBOX" "$rootfs/bin/busybox"
  chmod 0755 "$rootfs/bin/busybox"
  # One symlink per applet, made by busybox itself (a fork per `ln` takes ~0.7 s). The links
  # point at the absolute path busybox runs from (/usr/bin/busybox on merged-/usr hosts):
  # make that path exist in the image too.
  "$BUSYBOX" --install -s "$rootfs/bin"
  target="$(readlink "$rootfs/bin/sh")"
  [[ "$target" == /* ]] || die "unexpected applet link target: $target"
  if [[ "$target" != /bin/busybox ]]; then
    mkdir -p "$rootfs$(dirname "$target")"
    ln -sfn /bin/busybox "$rootfs$target"
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$rootfs/etc/hosts"

  local img="$work/img"
  mkdir -p "$img/layer"
  det_tar "$rootfs" "$img/layer/layer.tar"
  local diff_id
  diff_id="$(sha256 "$img/layer/layer.tar")"
  mv "$img/layer" "$img/$diff_id"

  local config_json
  config_json="$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/bin:/sbin:/usr/bin:/usr/sbin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"scripts/busybox-image.sh"}]}' "$diff_id")"
  printf '%s' "$config_json" >"$img/config.json"
  local config_id
  config_id="$(sha256 "$img/config.json")"
  mv "$img/config.json" "$img/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
    "$config_id" "$IMAGE" "$diff_id" >"$img/manifest.json"
  printf '{"%s":{"%s":"%s"}}' "${IMAGE%:*}" "${IMAGE##*:}" "$config_id" >"$img/repositories"
  det_tar "$img" "$out"
}

main() {
  local address="" save="" force="" check=1 arg
  while (($#)); do
    arg="$1"
    shift
    case "$arg" in
      --save) save="${1:?--save needs a file}"; shift ;;
      --force) force=1 ;;
      --no-check) check="" ;;
      -h | --help) usage ;;
      -*) die "unknown option $arg" ;;
      *)
        [[ -z "$address" ]] || usage
        address="$arg"
        ;;
    esac
  done
  [[ -n "$address" ]] || usage
  [[ -S "$address" ]] || die "no containerd socket at $address"
  [[ -x "$BUSYBOX" ]] || die "$BUSYBOX missing: apt-get install busybox-static"
  if ldd "$BUSYBOX" >/dev/null 2>&1; then
    die "$BUSYBOX is dynamically linked: apt-get install busybox-static"
  fi

  local c=(ctr --address "$address" --namespace "$NAMESPACE")
  local present=""
  if "${c[@]}" images ls -q | grep -qxF -- "$IMAGE"; then present=1; fi

  if [[ -n "$save" || -z "$present" || -n "$force" ]]; then
    local tarball="${save:-}"
    local tmp=""
    if [[ -z "$tarball" ]]; then
      tmp="$(mktemp --suffix=.tar)"
      tarball="$tmp"
    fi
    build_archive "$tarball"
    if [[ -z "$present" || -n "$force" ]]; then
      "${c[@]}" images import --all-platforms "$tarball" >/dev/null
      echo "busybox-image.sh: imported $IMAGE into namespace $NAMESPACE" >&2
    fi
    [[ -z "$tmp" ]] || rm -f "$tmp"
  else
    echo "busybox-image.sh: $IMAGE already in namespace $NAMESPACE" >&2
  fi

  if [[ -n "$check" ]]; then
    local id="busybox-check-$$" out
    out="$("${c[@]}" run --rm "$IMAGE" "$id" /bin/sh -c 'echo ok; ls /bin/ip /bin/ping /bin/nc >/dev/null')" ||
      die "ctr run of $IMAGE failed"
    [[ "$out" == ok* ]] || die "ctr run of $IMAGE printed: $out"
  fi
  echo "$IMAGE"
}

main "$@"
