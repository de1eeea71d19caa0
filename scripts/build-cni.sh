#!/usr/bin/env bash
# Builds the CNI executable (cni/, Go, standard library only) as one static, stripped file.
#   bash scripts/build-cni.sh OUTPUT [VERSION]
# Used by scripts/build.ts (npm run build) and by the Dockerfile's Go stage, so both build it
# the same way. Nothing is downloaded: GOPROXY=off, and cni/ needs no module.
set -euo pipefail
out="$(realpath -m "${1:?usage: build-cni.sh OUTPUT [VERSION]}")"
version="${2:-dev}"
cd "$(dirname "${BASH_SOURCE[0]}")/../cni"
export CGO_ENABLED=0 GOPROXY=off GOFLAGS=-mod=mod
exec go build -trimpath -ldflags "-s -w -X main.version=$version" -o "$out" .
