#!/usr/bin/env bash
# The CA certificates the image build trusts for TLS to the npm registry, checked against the
# fingerprints pinned in scripts/build-ca.sha256 (issue 19 item 10: the build fails on an
# unexpected CA).
#
#   bash scripts/check-ca.sh check FILE [PINS]    every certificate in FILE is pinned, or exit 1
#                                                 naming the first that is not
#   bash scripts/check-ca.sh select FILE [PINS]   print the pinned certificates of FILE (a CA
#                                                 bundle such as the host's) and nothing else
#
# PINS defaults to scripts/build-ca.sha256 beside this script. The Dockerfile runs `check` on the
# build secret npm_ca before npm uses it; scripts/image.sh makes that secret with `select` from
# the host's bundle. Needs openssl (Debian's ca-certificates depends on it).
set -euo pipefail

usage() {
  echo "usage: check-ca.sh check|select FILE [PINS]" >&2
  exit 2
}
(($# == 2 || $# == 3)) || usage
MODE="$1"
FILE="$2"
PINS="${3:-$(dirname "${BASH_SOURCE[0]}")/build-ca.sha256}"
[[ "$MODE" == check || "$MODE" == select ]] || usage
[[ -r "$FILE" ]] || { echo "check-ca.sh: cannot read $FILE" >&2; exit 1; }
[[ -r "$PINS" ]] || { echo "check-ca.sh: cannot read $PINS" >&2; exit 1; }

# The pinned fingerprints: 64 hex digits (colons allowed, any case) at the start of a line.
pinned="$(sed -n 's/^\([0-9A-Fa-f:]\{64,95\}\)\([[:space:]].*\)\{0,1\}$/\1/p' "$PINS" | tr -d ':' | tr 'a-f' 'A-F')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# One file per certificate.
awk -v dir="$WORK" '/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("%s/%04d.pem", dir, n) } f { print > f } /-----END CERTIFICATE-----/ { f = "" }' "$FILE"

count=0
for cert in "$WORK"/*.pem; do
  [[ -e "$cert" ]] || continue
  count=$((count + 1))
  fp="$(openssl x509 -noout -fingerprint -sha256 -in "$cert" 2>/dev/null | sed 's/^.*=//' | tr -d ':')" ||
    { echo "check-ca.sh: certificate $count in $FILE cannot be read" >&2; exit 1; }
  if grep -qx "$fp" <<<"$pinned"; then
    [[ "$MODE" == select ]] && cat "$cert"
  elif [[ "$MODE" == check ]]; then
    subject="$(openssl x509 -noout -subject -in "$cert" | sed 's/^subject=//')"
    echo "check-ca.sh: unexpected CA in $FILE: $subject, SHA-256 $fp is not pinned in $PINS; the image build trusts only the CAs listed there" >&2
    exit 1
  fi
done
if [[ "$MODE" == check && $count -eq 0 ]]; then
  echo "check-ca.sh: no certificate in $FILE" >&2
  exit 1
fi
exit 0
